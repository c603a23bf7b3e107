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


@main.command()
@click.argument("prompt")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="PNG folder.")
@click.option("--model", "model_path", default=None, envvar="PIXELMILL_MODEL",
              type=click.Path(exists=True, file_okay=False),
              help="A diffusers-format model folder, e.g. a Stable Diffusion 1.x/2.x checkpoint "
                   "(default: $PIXELMILL_MODEL, else the built-in model).")
@click.option("--sampler", default="euler", type=click.Choice(["ddim", "euler", "dpmpp_2m"]))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the paths.")
def imagine(prompt: str, out_dir: str, model_path: str | None, sampler: str, as_json: bool) -> None:
    """Generate a grid of images from PROMPT (Midjourney-style --parameters) on this machine."""
    import json
    import sys

    from pixelmill.engine.imagine import ImagineError
    from pixelmill.engine.imagine import imagine as run_imagine
    from pixelmill.models import configure_threads, load_model
    from pixelmill.prompt import PromptError, parse

    try:
        parse(prompt)  # fail fast, before loading a model
    except PromptError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    from pixelmill.models.diffusers_backend import ModelLoadError

    if not model_path and not as_json:
        from pixelmill.models.index import BUILTIN_DIR, default_model_location

        if default_model_location() == BUILTIN_DIR:
            from pixelmill.training.vocabulary import describe

            click.echo(describe(), err=True)
    configure_threads()
    try:
        model = load_model(model_path)
    except ModelLoadError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)

    def progress(done: int, total: int, n: int) -> None:
        width = 24
        bar = "#" * (width * done // max(total, 1))
        per_image = "  ".join(f"img{i + 1} {done}/{total}" for i in range(n))
        click.echo(f"\r[{bar:<{width}}] {done}/{total} steps  {per_image}", err=True, nl=done >= total)

    try:
        result = run_imagine(prompt, out_dir, model, progress=progress, sampler=sampler)
    except PromptError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ImagineError as exc:
        click.echo(f"error: generation failed: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({
            "images": [str(p) for p in result.images],
            "grid": str(result.grid),
            "seed": result.seed,
            "steps": result.steps,
            "seconds": round(result.seconds, 3),
        }))
    else:
        for path in [*result.images, result.grid]:
            click.echo(str(path))
        click.echo(f"seed {result.seed}, {result.steps} steps, {result.seconds:.2f} s", err=True)


@models.command("make-tiny")
@click.argument("path", type=click.Path(file_okay=False))
def models_make_tiny(path: str) -> None:
    """Write the tiny random-weight SD-architecture model (no download) to PATH."""
    from pixelmill.models.tiny import make_tiny

    click.echo(str(make_tiny(path)))


@bench.command("engine")
@click.option("--model", "model_path", default=None, type=click.Path(exists=True, file_okay=False),
              help="Model folder (default: the tiny random-weight model).")
@click.option("--jobs", default=48, show_default=True, type=click.IntRange(2), help="Jobs of 4 images.")
@click.option("--max-batch", default=16, show_default=True, type=click.IntRange(4))
@click.option("--short-fraction", default=0.5, show_default=True, type=click.FloatRange(0, 1))
@click.option("--load", default=1.5, show_default=True, type=click.FloatRange(0.1, 10),
              help="Arrival rate as a multiple of the raw model capacity.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(1),
              help="Runs of every policy; ratios are medians, with their spread.")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON (default: indented).")
def bench_engine_cmd(model_path: str | None, jobs: int, max_batch: int, short_fraction: float, load: float,
                     seed: int, repeats: int, as_json: bool) -> None:
    """Sequential vs static vs continuous batching on one Poisson workload (prints JSON)."""
    import json

    from pixelmill.engine.bench import bench_engine
    from pixelmill.models import configure_threads, load_model
    from pixelmill.models.tiny import is_current_tiny, make_tiny

    configure_threads()
    if model_path is None:  # the tiny model, whatever the default model is: comparable figures
        from pixelmill.config import home

        tiny = home() / "models" / "tiny"
        model_path = str(tiny if is_current_tiny(tiny) else make_tiny(tiny))
    result = bench_engine(load_model(model_path), n_jobs=jobs, max_batch=max_batch,
                          short_fraction=short_fraction, seed=seed, load=load, repeats=repeats)
    click.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))

# --- built-in model (train demo-model, eval alignment) ---------------------------------------


@train.command("demo-model")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write the model to.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of data, initialisation and batches.")
@click.option("--minutes", default=None, type=float,
              help="Wall-time cap; a capped run records the steps it reached.")
@click.option("--ae-steps", default=None, type=click.IntRange(1),
              help="Autoencoder steps (default: the recipe's).")
@click.option("--unet-steps", default=None, type=click.IntRange(1),
              help="UNet steps (default: the recipe's).")
@click.option("--unet-stop", default=None, type=click.IntRange(1),
              help="Stop the UNet after this many steps (the schedule still spans --unet-steps).")
@click.option("--decoder-steps", default=None, type=click.IntRange(0),
              help="Decoder fine-tuning steps, before the UNet (default: the recipe's).")
@click.option("--continue-from", "continue_from", default=None, type=click.Path(exists=True, file_okay=False),
              help="Continue the UNet of this folder for --unet-steps more steps (seed from the folder).")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1),
              help="torch threads (the weights depend on it: it is part of the reproduce command).")
def train_demo_model_cmd(out_dir: str, seed: int, minutes: float | None, ae_steps: int | None,
                         unet_steps: int | None, unet_stop: int | None, decoder_steps: int | None,
                         continue_from: str | None, threads: int) -> None:
    """Train the built-in text-to-image model from SEED and write a diffusers folder to --out.

    The shipped weights: run the ``command`` in its model_index.json, then each ``continued``
    command in order (with --continue-from the previous folder).
    Progress goes to stderr as JSON lines; the last line on stdout is a JSON summary."""
    import json
    from dataclasses import replace

    from pixelmill.training.recipe import Recipe
    from pixelmill.training.trainer import continue_demo_model, train_demo_model

    log = lambda r: click.echo(json.dumps(r), err=True)  # noqa: E731
    if continue_from:
        if not unet_steps:
            raise click.UsageError("--continue-from needs --unet-steps (how many more UNet steps)")
        report = continue_demo_model(continue_from, out_dir, unet_steps=unet_steps, unet_stop=unet_stop,
                                     max_minutes=minutes, threads=threads, log=log)
        click.echo(json.dumps({"out": out_dir, "continued_unet_steps": report.unet_steps}))
        return

    recipe = Recipe()
    if ae_steps:
        recipe = replace(recipe, ae_steps=ae_steps)
    if unet_steps:
        recipe = replace(recipe, unet_steps=unet_steps)
    if unet_stop:
        recipe = replace(recipe, unet_stop=unet_stop)
    if decoder_steps is not None:
        recipe = replace(recipe, decoder_steps=decoder_steps)
    report = train_demo_model(out_dir, seed=seed, recipe=recipe, max_minutes=minutes, threads=threads,
                              log=log)
    click.echo(json.dumps({"out": out_dir, "seed": seed, "ae_steps": report.ae_steps,
                           "unet_steps": report.unet_steps, "seconds": report.seconds}))


@models.command("builtin")
@click.option("--json", "as_json", is_flag=True, help="Print the vocabulary as JSON.")
def models_builtin_cmd(as_json: bool) -> None:
    """What the built-in model knows (its vocabulary) and how to use a real SD model instead."""
    import json

    from pixelmill.training import vocabulary

    if as_json:
        click.echo(json.dumps(vocabulary.summary()))
    else:
        click.echo(vocabulary.describe())


@train.command("alignment-classifier")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for classifier.safetensors (default: models/builtin/alignment).")
@click.option("--n", "n", default=6000, show_default=True, type=click.IntRange(64),
              help="Procedural training images.")
@click.option("--epochs", default=6, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True, type=int)
def train_alignment_classifier_cmd(out_dir: str | None, n: int, epochs: int, seed: int) -> None:
    """Train the attribute classifier the alignment eval scores images with."""
    import json
    from pathlib import Path

    import torch

    from pixelmill.training import alignment

    torch.set_num_threads(1)
    model = alignment.train_classifier(n=n, epochs=epochs, seed=seed,
                                       log=lambda r: click.echo(json.dumps(r), err=True))
    acc = alignment.classifier_accuracy(model, n=1000, seed=seed)
    folder = Path(out_dir) if out_dir else alignment.CLASSIFIER_DIR
    alignment.save_classifier(model, folder, seed=seed, n=n, epochs=epochs, test_accuracy=acc)
    click.echo(json.dumps({"out": str(folder), "test_accuracy": acc}))


@eval_.command("alignment")
@click.option("--n", "n", default=100, show_default=True, type=click.IntRange(1), help="Held-out prompts.")
@click.option("--model", "model_path", default=None, type=click.Path(exists=True, file_okay=False),
              help="A diffusers-format model folder (default: the built-in model).")
@click.option("--steps", default=None, type=click.IntRange(1), help="Denoising steps (default: the model's).")
@click.option("--draft", is_flag=True, help="Half the model's default steps (as --draft does).")
@click.option("--guidance", default=7.5, show_default=True, type=click.FloatRange(0, 50),
              help="Guidance scale (7.5 = the default --stylize 100).")
@click.option("--sampler", default="euler", show_default=True,
              type=click.Choice(["ddim", "euler", "dpmpp_2m"]))
@click.option("--seed", default=0, show_default=True, type=int, help="Which held-out prompts.")
@click.option("--save", "save_dir", default=None, type=click.Path(file_okay=False),
              help="Also write the images.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_alignment_cmd(n: int, model_path: str | None, steps: int | None, draft: bool, guidance: float,
                       sampler: str, seed: int, save_dir: str | None, as_json: bool) -> None:
    """Score prompt alignment: generate N held-out prompts through the engine and read their
    attributes back with the attribute classifier."""
    import json
    from pathlib import Path

    import torch

    from pixelmill.training.alignment import evaluate_alignment

    torch.set_num_threads(1)
    result = evaluate_alignment(n, model_path=model_path, steps=steps, draft=draft, guidance=guidance,
                                sampler=sampler, seed=seed, save_dir=Path(save_dir) if save_dir else None)
    if as_json:
        click.echo(json.dumps(result))
    else:
        for key, value in result.items():
            click.echo(f"{key}: {value}")


# --- jobs pipeline (worker, bench queue) -----------------------------------------------------


@main.command()
@click.option("--worker-id", default=None, help="Lease owner name (default: <host>-<pid>).")
@click.option("--max-batch", default=8, show_default=True, help="Samples the engine runs at once.")
@click.option("--lease-s", default=30.0, show_default=True, help="Lease length in seconds.")
@click.option("--heartbeat-s", default=5.0, show_default=True, help="Lease renewal interval.")
@click.option("--no-post-filter", is_flag=True, help="Do not screen images (testing only).")
def worker(worker_id: str | None, max_batch: int, lease_s: float, heartbeat_s: float,
           no_post_filter: bool) -> None:
    """Run jobs from the job store until SIGINT/SIGTERM (stores and model from PIXELMILL_* env)."""
    import logging
    import signal
    import threading

    from pixelmill.config import Settings
    from pixelmill.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    extra: dict[str, object] = {"post_filter": None} if no_post_filter else {}
    w = Worker.from_settings(Settings.from_env(), worker_id=worker_id, max_batch=max_batch,
                             lease_s=lease_s, heartbeat_every_s=heartbeat_s,
                             reap_every_s=min(5.0, lease_s), **extra)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"worker {w.worker_id}: model {w.model_id}, max batch {max_batch}", err=True)
    w.run(stop)


@bench.command(name="queue")
@click.option("--backend", type=click.Choice(["sqlite", "postgres"]), default="sqlite", show_default=True)
@click.option("--claimers", default=16, show_default=True, help="Concurrent claimer threads.")
@click.option("--jobs", "n_jobs", default=6000, show_default=True, help="Jobs submitted (3 lanes).")
@click.option("--batch", default=1, show_default=True, help="Jobs per claim call (k).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def bench_queue(backend: str, claimers: int, n_jobs: int, batch: int, as_json: bool) -> None:
    """Submit and claim throughput of the job store, and the lane split under saturation."""
    import json

    from pixelmill.store.bench import run_queue_bench

    result = run_queue_bench(backend, claimers=claimers, jobs=n_jobs, batch=batch)
    click.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))

# --- gateway (serve, users add, bench api) ---------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run a worker in this process (embedded); --no-worker for distributed gateways.")
def serve(host: str, port: int, worker: bool) -> None:
    """Run the HTTP API and the web app (embedded default: SQLite, local folder, built-in model)."""
    from pixelmill.gateway.serve import serve as run_serve

    run_serve(host, port, worker=worker)


@users.command("add")
@click.argument("name")
@click.option("--tier", required=True, type=click.Choice(["free", "paid", "pro"]))
@click.option("--json", "as_json", is_flag=True, help='Print {"user", "tier", "api_key"} as JSON.')
def users_add(name: str, tier: str, as_json: bool) -> None:
    """Create an account and print its API key (shown once; only its hash is stored)."""
    import json

    from pixelmill.gateway.serve import add_user

    try:
        new = add_user(name, tier)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if as_json:
        click.echo(json.dumps(new.to_dict()))
    else:
        click.echo(f"user {new.user.name} ({new.user.tier}), id {new.user.id}")
        click.echo(f"API key (shown once): {new.api_key}")


@bench.command("api")
@click.option("--rate", default=200.0, show_default=True, type=click.FloatRange(1, 2000),
              help="Submits per second (open loop).")
@click.option("--seconds", default=5.0, show_default=True, type=click.FloatRange(0.5, 60))
@click.option("--no-embedding", is_flag=True, help="Pre-filter without its MiniLM layer.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_api(rate: float, seconds: float, no_embedding: bool, as_json: bool) -> None:
    """Submit latency of the gateway with workers paused, at a fixed rate over loopback."""
    import json

    from pixelmill.gateway.bench import run_bench

    result = run_bench(rate, seconds, embedding=not no_embedding)
    click.echo(json.dumps(result) if as_json else "\n".join(f"{k}: {v}" for k, v in result.items()))

# --- safety (safety screen, eval safety, bench safety) -----------------------------------------


@safety.command(name="screen")
@click.argument("source", default="-", type=click.File("r", encoding="utf-8"))
@click.option("--no-embedding", is_flag=True, help="Rule layers only (no MiniLM encoder).")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), default=None,
              help="Hard-block rules file (default $PIXELMILL_HOME/safety_rules.txt).")
def safety_screen(source: click.utils.LazyFile, no_embedding: bool, rules_path: str | None) -> None:
    """Screen prompts, one per line from SOURCE (a file or - for stdin); print one JSON line each."""
    import json
    from pathlib import Path

    from pixelmill.safety.prefilter import PreFilter

    rules = Path(rules_path) if rules_path else None
    prefilter = PreFilter.default(embedding=not no_embedding, rules_path=rules)
    prompts = [line.rstrip("\r\n") for line in source]
    prompts = [p for p in prompts if p.strip()]
    for start in range(0, len(prompts), 64):
        chunk = prompts[start : start + 64]
        for prompt, verdict in zip(chunk, prefilter.screen_batch(chunk), strict=True):
            click.echo(json.dumps({"prompt": prompt, **verdict.to_dict()}, ensure_ascii=False))


@safety.command(name="screen-image")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="NSFW block threshold (default $PIXELMILL_NSFW_THRESHOLD or 0.8).")
def safety_screen_image(images: tuple[str, ...], threshold: float | None) -> None:
    """Screen image files with the post-filter; print one JSON line each."""
    import json

    from PIL import Image

    from pixelmill.safety.postfilter import PostFilter

    postfilter = PostFilter.default(threshold=threshold)
    for path in images:
        try:
            with Image.open(path) as im:
                verdict = postfilter.screen(im)
        except OSError as exc:
            raise click.ClickException(f"{path}: not a readable image ({exc})") from exc
        click.echo(json.dumps({"image": path, **verdict.to_dict()}))


@safety.command(name="check-rules")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def safety_check_rules(path: str | None) -> None:
    """Validate a hard-block rules file (default $PIXELMILL_HOME/safety_rules.txt)."""
    from pathlib import Path

    from pixelmill.safety.rules import RulesError, default_rules_path, parse_rules

    target = Path(path) if path else default_rules_path()
    if not target.exists():
        raise click.ClickException(f"{target} does not exist (no operator rules are in force)")
    try:
        rules = parse_rules(target.read_text(encoding="utf-8"), str(target))
    except RulesError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{target}: {len(rules)} rule(s) OK")


@bench.command(name="safety")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON result (default: a summary).")
@click.option("--samples", type=click.IntRange(16), default=200, show_default=True,
              help="Benign prompts timed through every variant.")
@click.option("--no-agreement", is_flag=True, help="Skip screening the tune split with every encoder.")
def bench_safety(as_json: bool, samples: int, no_agreement: bool) -> None:
    """Pre-filter cost per prompt: rules only, torch MiniLM, onnxruntime fp32/int8 (side by side)."""
    import json

    from pixelmill.safety.benchmark import run

    result = run(samples=samples, with_agreement=not no_agreement)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    for name, lat in result["latency_ms"].items():  # type: ignore[attr-defined]
        click.echo(f"{name:18s} single p50 {lat['single']['p50']:7.3f} p99 {lat['single']['p99']:7.3f} ms  "
                   f"batch16 p50 {lat['batch16_per_prompt']['p50']:7.3f} ms/prompt")


@safety.command(name="export-encoder")
@click.option("--precision", type=click.Choice(["int8", "fp32"]), default="int8", show_default=True)
def safety_export_encoder(precision: str) -> None:
    """Export the installed MiniLM to ONNX into $PIXELMILL_HOME/cache/safety (done lazily otherwise)."""
    from pixelmill.safety.fast_encoder import ensure_onnx_model

    click.echo(str(ensure_onnx_model(precision)))


@eval_.command(name="safety")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON report (default: a summary).")
@click.option("--no-embedding", is_flag=True, help="Evaluate the rule layers only.")
@click.option("--latency-samples", type=click.IntRange(0), default=300, show_default=True,
              help="Prompts timed one by one for the latency figures.")
def eval_safety(as_json: bool, no_embedding: bool, latency_samples: int) -> None:
    """Recall on the adversarial set, false positives on the benign set, latency (tune and heldout)."""
    import json

    from pixelmill.safety.evaluation import run

    result = run(embedding=not no_embedding, latency_samples=latency_samples)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    for split in ("tune", "heldout"):
        adv, ben = result["adversarial"][split], result["benign"][split]  # type: ignore[index]
        click.echo(f"{split:8s} recall {adv['recall']:.4f} (n={adv['n']})  "
                   f"false positives {ben['false_positive_rate']:.4f} (n={ben['n']})")
    lat = result["latency_ms"]
    click.echo(f"latency p50 {lat['p50']} ms  p99 {lat['p99']} ms")  # type: ignore[index]

# --- simulator (simulate) --------------------------------------------------------------------


@main.command()
@click.option("--scenario", default="baseline", show_default=True,
              help="baseline, paid-spike, outage, instability, adversarial or relax-fill.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Write a PNG: p95 wait by lane over time per policy, and utilisation.")
@click.option("--minutes", type=float, default=None, help="Simulated window (default: the scenario's).")
@click.option("--hours", type=float, default=None, help="Simulated window in hours (instead of --minutes).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the arrival trace and faults.")
@click.option("--gpus", type=int, default=None, help="Fleet size at start (default 1200).")
@click.option("--rate", type=float, default=None, help="Arrivals per second at the daily peak (default 100).")
@click.option("--autoscale/--no-autoscale", default=None,
              help="Force autoscaling on or off in every variant.")
@click.option("--policies", default="fifo,strict,pixelmill", show_default=True,
              help="Comma-separated queue disciplines to compare.")
@click.option("--profile", default="sd15-datacenter", show_default=True,
              help="Step-time profile: a shipped name (sd15-datacenter, builtin-cpu) or a JSON path.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Processes for the (variant, policy) runs; 0 = one per CPU core. Same results.")
def simulate(scenario: str, as_json: bool, plot_path: str | None, minutes: float | None, hours: float | None,
             seed: int, gpus: int | None, rate: float | None, autoscale: bool | None, policies: str,
             profile: str, workers: int) -> None:
    """Simulate a GPU fleet running the real lane policy next to FIFO and strict priority.

    Default windows are the scenario's (20-45 simulated minutes); --hours 1 for an hour."""
    import json
    import os

    from pixelmill.sim.report import format_table
    from pixelmill.sim.scenarios import run_scenario

    if minutes is not None and hours is not None:
        raise click.UsageError("give --minutes or --hours, not both")
    window = hours * 60.0 if hours is not None else minutes
    try:
        run = run_scenario(scenario, minutes=window, seed=seed, gpus=gpus, rate=rate, autoscale=autoscale,
                           policies=tuple(p.strip() for p in policies.split(",") if p.strip()),
                           profile=profile, workers=workers or os.cpu_count() or 1)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if plot_path:
        from pixelmill.sim.plot import write_plot

        write_plot(run, plot_path)
        run.report["plot"] = str(plot_path)
    click.echo(json.dumps(run.report, indent=2) if as_json else format_table(run.report))


# --- follow-ups (action, bench upscale) ------------------------------------------------------


@bench.command("upscale")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_upscale(as_json: bool) -> None:
    """Real-ESRGAN 2x (ncnn, CPU, one thread): seconds and PSNR per shipped model vs Lanczos."""
    import json

    from pixelmill.models.upscale import bench as run_bench

    result = run_bench()
    click.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@main.command()
@click.argument("job_id")
@click.argument("action", type=click.Choice(["upscale_subtle", "upscale_creative", "vary_subtle",
                                             "vary_strong", "vary_region", "zoom_out", "pan", "reroll"]))
@click.option("--index", default=0, show_default=True, type=click.IntRange(0, 63),
              help="The image of the grid, 0-based (U1 is --index 0).")
@click.option("--prompt", default=None, help="Remix: an edited prompt.")
@click.option("--zoom", type=float, default=None, help="zoom_out: factor in (1, 2] (default 2).")
@click.option("--direction", type=click.Choice(["left", "right", "up", "down"]), default=None, help="pan.")
@click.option("--fraction", type=float, default=None, help="pan: share of the side added (default 0.5).")
@click.option("--rect", "rects", multiple=True, metavar="X0,Y0,X1,Y1",
              help="vary_region: a box in parent pixels (repeatable).")
@click.option("--mask", "mask_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="vary_region: a PNG mask (white or opaque = regenerate), the image's size.")
@click.option("--url", envvar="PIXELMILL_URL", default="http://127.0.0.1:8000", show_default=True,
              help="The pixelmill server ($PIXELMILL_URL).")
@click.option("--key", envvar="PIXELMILL_API_KEY", required=True, help="Your API key ($PIXELMILL_API_KEY).")
@click.option("--wait/--no-wait", default=False, help="Wait until the new job finishes.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="With --wait: download the images into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the job JSON.")
def action(job_id: str, action: str, index: int, prompt: str | None, zoom: float | None,
           direction: str | None, fraction: float | None, rects: tuple[str, ...], mask_path: str | None,
           url: str, key: str, wait: bool, out_dir: str | None, as_json: bool) -> None:
    """Queue a follow-up (upscale, vary, vary region, zoom out, pan, reroll; remix with --prompt) of
    image --index of JOB_ID on a running server, over its HTTP API (the same route, checks and
    budgets as the web app: POST /v1/jobs/JOB_ID/actions)."""
    import base64
    import json
    import time
    from pathlib import Path

    import httpx

    body: dict[str, object] = {"action": action, "index": index}
    for name, value in (("prompt", prompt), ("zoom", zoom), ("direction", direction), ("fraction", fraction)):
        if value is not None:
            body[name] = value
    if rects:
        try:
            body["rects"] = [[int(v) for v in r.split(",")] for r in rects]
        except ValueError:
            raise click.BadParameter("use --rect X0,Y0,X1,Y1 with integers", param_hint="--rect") from None
    if mask_path:
        body["mask_png_b64"] = base64.b64encode(Path(mask_path).read_bytes()).decode()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        try:
            r = client.post(f"/v1/jobs/{job_id}/actions", json=body)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach {url} ({exc}); is `pixelmill serve` running?") from None
        if r.status_code != 202:
            err = (r.json().get("error") or {}) if r.headers.get("content-type", "").startswith(
                "application/json") else {}
            raise click.ClickException(f"{r.status_code} {err.get('code', '')}: {err.get('message', r.text)}")
        job = r.json()
        while wait and job["status"] in ("queued", "running"):
            time.sleep(0.5)
            job = client.get(f"/v1/jobs/{job['id']}").json()
        if wait and out_dir:
            folder = Path(out_dir)
            folder.mkdir(parents=True, exist_ok=True)
            for img in job["images"]:
                path = folder / f"{job['id']}_{img['index']}.png"
                path.write_bytes(client.get(img["url"]).content)
                img["path"] = str(path)
    if as_json:
        click.echo(json.dumps(job))
    else:
        click.echo(f"{job['kind']} job {job['id']}: {job['status']}")
        for img in job.get("images", []):
            where = img.get("path", url + img["url"])
            click.echo(f"  image {img['index']}: {img['width']}x{img['height']} {where}")
    if wait and job["status"] != "succeeded":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
