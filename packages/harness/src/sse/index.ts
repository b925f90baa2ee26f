// Tickets followed over Server-Sent Events (GET /v1/tickets/{id}/events): one stream, and every ticket of a run.
export { openTicketEventStream, TicketEventStream, type ReceivedTicketEvent, type StreamEnd, type TicketEventData, type TicketEventStreamOptions } from './ticket-event-stream.ts';
export { TicketFollower, type FollowFigures, type FollowOptions, type FollowResult } from './follow-tickets.ts';
