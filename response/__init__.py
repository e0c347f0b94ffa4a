"""Response logic, pure like ``detectors/``: what an incident's lifecycle allows
(``lifecycle``), which playbooks match it and what they do (``playbooks``), the
messages they send (``notify``) and the agents a contact center needs (``staffing``).
The API (people's actions) and the activation worker (events, clocks) call it and
write what it decides through the store. No I/O; imports no other project package."""
