"""Run a training script that stops still after the checkpoint of one step is written, for a test to kill it there.

    python pause_after_checkpoint.py STEP SCRIPT [script arguments...]

The skeleton's ``save_checkpoint`` is wrapped: once the checkpoint of STEP is complete, ``paused at STEP`` is
printed and the process sleeps (the test sends SIGKILL then), so the kill always falls between that checkpoint and
the next step, however fast the steps are.
"""

import runpy
import sys
import time

import talkhead.training.loop as loop


def main() -> None:
    pause_at, script, arguments = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    save = loop.save_checkpoint

    def save_then_pause(accelerator, state):
        path = save(accelerator, state)
        if state.step == pause_at:
            print(f"paused at {pause_at}", flush=True)
            time.sleep(600)
        return path

    loop.save_checkpoint = save_then_pause
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
