export { type TicketStatus, type RejectionReason, TICKET_STATUSES, REJECTION_REASONS, isFinal } from './ticket.ts';
export { type AdmissionOutcome, type AdmissionResult, parseAdmissionReply } from './admission.ts';
export { decideBatch, type Candidate, type Decision, type BatchDecision } from './decide-batch.ts';
export { couponTag, newTicketId, ticketCouponTag } from './ticket-id.ts';
