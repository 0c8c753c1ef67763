"""``python -m dlkit``: the command line, for where the ``dlkit`` script is not on PATH (the
SLURM job scripts start workers with ``<venv python> -m dlkit worker``)."""

from dlkit.cli import main

if __name__ == "__main__":
    main(prog_name="dlkit")
