"""The ``pixelmill`` command line.

Commands import their modules lazily so ``pixelmill --help`` is fast and one area's heavy
imports (torch, onnxruntime) are paid only by the commands that need them.

Layout: one section per area, each owned by that area's module; keep commands thin (parse
arguments, call the module, print).
"""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="pixelmill")
def main() -> None:
    """pixelmill: a self-hostable, Midjourney-class image-generation service."""


@main.group()
def models() -> None:
    """Model folders: make, inspect."""


@main.group()
def bench() -> None:
    """Benchmarks that print JSON figures."""


@main.group(name="eval")
def eval_() -> None:
    """Quality evaluations that print JSON figures."""


@main.group()
def safety() -> None:
    """Prompt and image safety tools."""


@main.group()
def users() -> None:
    """Accounts and API keys."""


@main.group()
def train() -> None:
    """Training the built-in model."""


# --- engine (imagine, models make-tiny, bench engine) ---------------------------------------

# --- built-in model (train demo-model, eval alignment) ---------------------------------------

# --- jobs pipeline (worker, bench queue) -----------------------------------------------------

# --- gateway (serve, users add, bench api) ---------------------------------------------------

# --- safety (safety screen, eval safety) -----------------------------------------------------

# --- simulator (simulate) --------------------------------------------------------------------

# --- follow-ups (action) ---------------------------------------------------------------------


if __name__ == "__main__":
    main()
