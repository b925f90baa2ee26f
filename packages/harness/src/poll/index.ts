export { pollTickets, ticketsOf, askOnceMore, type PollOptions, type PollResult, type PendingTicket } from './poll-tickets.ts';
