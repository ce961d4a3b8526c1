"""openpyxl, pydantic and tenacity stay off the start-up path of `attest review list` (issue 17).

Another issue has a start-up time target for `review list`; these libraries are imported
only by the commands that use them (an xlsx export, the bot's settings, sync).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("openpyxl", "pydantic", "tenacity")

SCRIPT = """
import json, sys
from bot.cli import main
sys.argv = ["attest", "review", "list", "--help"]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_review_list_imports_none_of_the_new_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % (HEAVY,)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
