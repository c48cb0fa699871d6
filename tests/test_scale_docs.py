"""docs/scale.md runs as written, on 8 simulated CPU devices.

The page's fenced blocks run in order in one namespace, in a subprocess with 8
devices: a ```python block is executed, a plain block with ``>>>`` prompts is a
doctest (``NORMALIZE_WHITESPACE | ELLIPSIS``) whose output must match the page.
Other blocks (```bash, ```text) are shown, not run.
"""

from __future__ import annotations

import multidevice

SETUP = r"""
import doctest, re
PAGE = open("docs/scale.md").read()
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", PAGE, re.S | re.M)
DOC_GLOBS = {"__name__": "scale_md"}
DOC_REPORT = []

def run_page():
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    for i, (lang, body) in enumerate(BLOCKS):
        if lang == "python":
            exec(compile(body, f"docs/scale.md block {i}", "exec"), DOC_GLOBS)
        elif lang == "" and ">>>" in body:
            test = parser.get_doctest(body, DOC_GLOBS, f"block {i}", "docs/scale.md", 0)
            runner.run(test, out=DOC_REPORT.append, clear_globs=False)
            DOC_GLOBS.update(test.globs)  # a doctest runs on a copy of the namespace
    return runner.summarize(verbose=False)
"""

CHECKS = {
    "docs_scale_md_runs_as_written": """
        failed, attempted = run_page()
        assert attempted >= 20, attempted
        assert failed == 0, "".join(DOC_REPORT)
    """,
}


results, test_on_8_devices = multidevice.tests_for(CHECKS, SETUP)
