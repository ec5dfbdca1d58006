"""`assistant eval`: run a suite of coding tasks through the agent and score
them with each task's own tests. A layer beside `review/`; only `cli` imports it."""
