export { type TicketStatus, type RejectionReason, TICKET_STATUSES, REJECTION_REASONS, isFinal } from './ticket.ts';
export { type AdmissionOutcome, type AdmissionResult, parseAdmissionReply } from './admission.ts';
export { couponTag, newTicketId, ticketCouponTag } from './ticket-id.ts';
