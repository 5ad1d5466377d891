#!/usr/bin/python3
"""tests/sim/simctl.py CONTROL_URL OP [NAME=VALUE ...] — one control call to a
running simulator, for shell tests. VALUE is parsed as JSON when it parses
(numbers, true/false, objects), else taken as a string. Prints the JSON answer;
exit status 1 when the simulator refused the call."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    kw = {}
    for a in sys.argv[3:]:
        k, _, v = a.partition("=")
        try:
            kw[k] = json.loads(v)
        except ValueError:
            kw[k] = v
    try:
        print(json.dumps(simlib.control(sys.argv[1], sys.argv[2], **kw), ensure_ascii=False))
    except simlib.SimError as e:
        print(e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
