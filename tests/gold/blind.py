"""The substance gold set as an independent labeller sees it: no labels, no passes, no trap kinds.

`python tests/gold/blind.py [seed]` prints the label guide, then each question with its key points
(statements and wrong statements, as in the bank) and its answers shuffled (fixed seed), each
named `Q<question>.A<answer>` by its index in tests/gold/substance.json. Hidden: `label`,
`passes`, `independent`, `adjudicated`, `kind` (it names the intended quality) and `core` (only
strong answers have one). The procedure is in docs/scoring.md ("How it was labelled").
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOWN = {"text"}  # of each answer


def listing(seed: int = 20261130) -> str:
    sys.path.insert(0, str(ROOT))
    from pipeline.interview.bank import BANK

    criteria = {q.text: q.criteria for q in BANK}
    gold = json.loads((ROOT / "tests" / "gold" / "substance.json").read_text())
    rng = random.Random(seed)
    lines = ["Label guide:", *(f"  {k}: {v}" for k, v in gold["label_guide"].items())]
    for qi, item in enumerate(gold["items"]):
        lines += ["", f"Q{qi} [{item['type']}] {item['question']}"]
        for kp in criteria[item["question"]]:
            lines.append(
                f"  key point {kp.label!r} (weight {kp.weight}): " + " | ".join(kp.meaning)
            )
            lines += [f"    wrong: {w}" for w in kp.wrong]
        order = list(range(len(item["answers"])))
        rng.shuffle(order)
        for ai in order:
            answer = {k: v for k, v in item["answers"][ai].items() if k in SHOWN}
            lines.append(f"  Q{qi}.A{ai}: {answer['text']}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(listing(int(sys.argv[1])) if len(sys.argv) > 1 else listing())
