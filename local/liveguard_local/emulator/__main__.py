"""python -m liveguard_local.emulator: the same as `liveguard emulator`."""

import argparse
import sys

from liveguard_local.emulator.cli import add_emulator_arguments, run_emulator

parser = argparse.ArgumentParser(
    prog="python -m liveguard_local.emulator",
    description="run the Tencent Live emulator (REST API, webhooks, app users) on loopback",
)
add_emulator_arguments(parser)
sys.exit(run_emulator(parser.parse_args()))
