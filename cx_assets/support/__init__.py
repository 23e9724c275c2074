"""Support: a ticketing system's tickets, agents and customers (contract sections 2 and 4.4)."""
