"""python -m liveguard_local.emulator: the same as `liveguard emulator`."""

import sys

from liveguard_ops.cli import main

sys.exit(main(["emulator", *sys.argv[1:]]))
