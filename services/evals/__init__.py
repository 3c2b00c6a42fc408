"""`workmode eval`: does the agent get the work done?

world.py      a fresh sandbox store per task, what a checker may look up, and the end state it reads
expect.py     what a task expects: write actions with argument checks, facts in the answer
tasks.py      the Task shape and the check over an end state
work.py       the work suite (ordinary requests on the Northwind Labs sandbox)
injection.py  the injection suite (hidden instructions planted by the task's setup)
reviewer.py   the scripted person: approves what the task expects, rejects the rest with a reason
harness.py    runs a task as a real job through the real engine (embedded store, broker and worker)
report.py     the table, the JSON file, and compare

Layer: above `workers` (it runs the embedded worker), below `services.cli`.
"""
