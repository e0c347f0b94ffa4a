"""The activation worker: it reads the incident event log, applies ``response/``'s rules
(playbooks, clocks, staffing, digests) and delivers the outbox by webhook and e-mail,
signed, to allowed hosts only."""
