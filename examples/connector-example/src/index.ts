export { ticketsConnector, type Ticket, type TicketsConfig } from './tickets-connector.js';
