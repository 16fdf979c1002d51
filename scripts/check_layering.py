#!/usr/bin/env python3
"""Checks every #include of the sources against the layering table of docs/architecture.md
(between the markers "<!-- layering:begin -->" and "<!-- layering:end -->"), and that no command
or trainer file spells a task's name. The build runs it (target layering_check) and so does CTest.

  scripts/check_layering.py              check the tree; exit 1 with one line per violation
  scripts/check_layering.py --self-test  show that injected violations are caught (and the tree is clean)

Table rows: | module | files | may include | OpenCV |, where `files` are folders (everything under
them) or glob patterns, the most specific match naming a file's module, and `may include` lists
modules (or "everything"). A module may always include itself.
"""
import fnmatch
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
SOURCE_SUFFIXES = {".h", ".hpp", ".cpp", ".cu", ".cuh"}
SCANNED = ["apps", "lib", "datasets", "tasks", "tests", "benchmarks"]
INCLUDE_ROOTS = ["lib", ".", "tests"]
# Names a command or the trainer might spell for a task; the registry's names are added.
TASK_WORDS = {"segmentation", "detect", "detection", "pose"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


class Rule:
    def __init__(self, module, patterns, allowed, opencv):
        self.module, self.patterns, self.allowed, self.opencv = module, patterns, allowed, opencv

    def specificity(self, path):
        """Length of the longest pattern matching `path` (0: none)."""
        best = 0
        for p in self.patterns:
            if any(c in p for c in "*?["):
                if fnmatch.fnmatch(path, p):
                    best = max(best, len(p))
            elif path == p or path.startswith(p.rstrip("/") + "/"):
                best = max(best, len(p))
        return best


def read_rules(doc_text):
    block = re.search(r"<!-- layering:begin -->(.*?)<!-- layering:end -->", doc_text, re.S)
    if not block:
        sys.exit(f"{DOC}: no layering table (markers <!-- layering:begin --> ... <!-- layering:end -->)")
    rules = []
    for line in block.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("module", "") or set(cells[0]) <= {"-", ":"}:
            continue
        split = lambda cell: [w.strip(" `") for w in cell.split(",") if w.strip(" `") and w.strip() != "—"]
        rules.append(Rule(cells[0].strip("`"), split(cells[1]), split(cells[2]), cells[3].lower().startswith("yes")))
    return rules


def module_of(path, rules):
    best, rule = 0, None
    for r in rules:
        s = r.specificity(path)
        if s > best:
            best, rule = s, r
    return rule


def resolve(include, includer):
    """The repository path an include names, or None."""
    for base in [includer.parent] + [ROOT / r for r in INCLUDE_ROOTS]:
        candidate = (base / include).resolve()
        if candidate.is_file():
            try:
                return candidate.relative_to(ROOT).as_posix()
            except ValueError:
                return None
    # Generated headers (core/version.h) live in the build folder; they belong to lib/<first>/.
    first = include.split("/")[0]
    if (ROOT / "lib" / first).is_dir():
        return f"lib/{include}"
    return None


def registry_task_names():
    text = (ROOT / "tasks" / "registry.cpp").read_text()
    table = re.search(r"kTasks\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    return set(re.findall(r'^\s*\{"([^"]+)"', table.group(1), re.M)) if table else set()


def sources(extra):
    files = {}
    for top in SCANNED:
        for p in (ROOT / top).rglob("*"):
            if p.suffix in SOURCE_SUFFIXES and p.is_file():
                files[p.relative_to(ROOT).as_posix()] = p.read_text(errors="replace")
    files.update(extra)
    return files


def check(rules, extra=None):
    problems = []
    names = registry_task_names() | TASK_WORDS
    for path, text in sorted(sources(extra or {}).items()):
        rule = module_of(path, rules)
        if rule is None:
            problems.append(f"{path}: in no module of the layering table ({DOC.relative_to(ROOT)})")
            continue
        for number, line in enumerate(text.splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, include = m.groups()
            if kind == "<":
                if include.startswith("opencv2/") and not rule.opencv:
                    problems.append(f"{path}:{number}: includes <{include}>, but {rule.module} is LibTorch-only "
                                    f"(OpenCV: no in the layering table)")
                continue
            target = resolve(include, ROOT / path)
            if target is None:
                problems.append(f"{path}:{number}: cannot resolve \"{include}\"")
                continue
            other = module_of(target, rules)
            if other is None or other is rule or "everything" in rule.allowed or other.module in rule.allowed:
                continue
            allowed = ", ".join(rule.allowed) if rule.allowed else "nothing else"
            problems.append(f"{path}:{number}: includes \"{include}\" (module {other.module}), but {rule.module} "
                            f"may include only {allowed} (docs/architecture.md, Layering)")
        if path.startswith("apps/") or path.startswith("lib/train/"):
            for number, line in enumerate(text.splitlines(), 1):
                for word in re.findall(r'"([a-z_-]+)"', line):
                    if word in names:
                        problems.append(f"{path}:{number}: names the task \"{word}\"; commands and the trainer reach "
                                        f"tasks through tasks/registry.h")
    return problems


def self_test(rules):
    """Injected violations must each be reported; the real tree must be clean."""
    injected = {
        "datasets/layering_probe.cpp": '#include "tasks/task.h"\n',
        "lib/backbones/layering_probe.cpp": '#include "readout/grid.h"\n',
        "tasks/segmentation/layering_probe.cpp": "#include <opencv2/core.hpp>\n",
        "lib/train/layering_probe.cpp": 'const char* kTask = "boundary";\n',
    }
    ok = True
    clean = check(rules)
    if clean:
        print("the tree itself has violations:\n  " + "\n  ".join(clean))
        ok = False
    found = check(rules, injected)
    for path in injected:
        hits = [p for p in found if p.startswith(path)]
        print(f"injected {path}: " + (hits[0] if hits else "NOT CAUGHT"))
        ok = ok and len(hits) == 1
    return ok


def main():
    rules = read_rules(DOC.read_text())
    if "--self-test" in sys.argv:
        ok = self_test(rules)
        print("self-test passed" if ok else "self-test FAILED")
        return 0 if ok else 1
    problems = check(rules)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering violation(s); the allowed arrows are the table in docs/architecture.md")
        return 1
    if "--quiet" not in sys.argv:
        print(f"layering: {len(sources({}))} files, {len(rules)} modules, no forbidden include")
    return 0


if __name__ == "__main__":
    sys.exit(main())
