"""What triage learned from a person's decisions: visible and revertible.

- `learn(session, principal_id)` reads the person's decided triage proposals (Actions of jobs of kind
  "triage", decided by a person) and turns repeated rejections or identical edits of the same
  suggestion for the same sender domain (twice or more) into a `TriageMemory` example and a
  suggested rule (kind "suggestion"). It is idempotent (memories have deterministic ids) and is
  run wherever decisions are shown or used: the digest's decision paths, the memory page and
  `workmode triage memory list`, and `examples()`.
- `examples(session, principal_id) -> list[dict]` is for the classifier: the active examples, each
  `{"id", "sender_domain", "tool", "decision", "text"}` (`text` is one plain sentence to put in
  the prompt, e.g. "Alex rejected 'Archive' for mail from weeklybyte.example 2 times (reason: I
  read these)").
- `accept` turns a suggestion into a `TriageRule` (source "suggested"); `decline` refuses it;
  `forget` retires any memory (an accepted suggestion's rule is deactivated too).
"""
from services.triage_memory.learn import accept, decline, examples, forget, learn, listing

__all__ = ["accept", "decline", "examples", "forget", "learn", "listing"]
