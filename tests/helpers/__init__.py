"""What the tests share, in one place: waiting (``waiting.wait_for``), synthetic streams
(``streams``), the CLI and the flow as child processes (``cli``, ``flow_runs``), local
platform servers (``local_http`` and one module per platform), activation's real parts
(``activation``), and test data builders. No test module imports another test module."""
