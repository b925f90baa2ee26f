export { pollTickets, ticketsOf, askOnceMore, type PollOptions, type PollResult } from './poll-tickets.ts';
