"""``kubeline``: the root command. Subcommand modules are imported only when used, so that
``kubeline --help`` stays fast (click is the only import at start-up).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from kubeline.resources.names import ENV_NAMESPACE

# name -> (module:attribute, short help shown by --help without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "pipeline": ("kubeline.cli.pipeline_cmds:pipeline", "Pipelines, their runs and snapshots."),
    "run": ("kubeline.cli.run_cmds:run", "Describe, watch, log, cancel or delete a run."),
    "snapshot": ("kubeline.cli.snapshot_cmds:snapshot", "List snapshots."),
    "schedule": ("kubeline.cli.schedule_cmds:schedule",
                 "Schedules: list, describe, suspend, resume, update, delete."),
    "artifact": ("kubeline.cli.artifact_cmds:artifact", "Artifacts and their versions."),
    "model": ("kubeline.cli.model_cmds:model", "Models, their versions and stages."),
    "dev": ("kubeline.cli.dev:dev", "A local Kubernetes cluster for development and tests."),
    "ui": ("kubeline.cli.ui_cmd:ui", "Serve the web UI: runs as live lineage pictures."),
}


class LazyGroup(click.Group):
    """A group whose subcommands live in other modules, imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            target, _ = self.lazy[cmd_name]
            module_name, attr = target.split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                raise click.ClickException(
                    f"the '{cmd_name}' commands are not available in this installation"
                ) from None
            return getattr(module, attr)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; Kubeline errors become one clear line and exit status 1."""
        from kubeline.errors import KubelineError

        try:
            return super().invoke(ctx)
        except KubelineError as exc:
            raise click.ClickException(str(exc)) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        for name in super().list_commands(ctx):
            cmd = super().get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-n", "--namespace", envvar=ENV_NAMESPACE, default=None,
              help="Namespace (default: the kube context's namespace).")
@click.option("--context", "kube_context", default=None, help="Kube context (default: current).")
@click.version_option(package_name="kubeline", prog_name="kubeline")
@click.pass_context
def cli(ctx: click.Context, namespace: str | None, kube_context: str | None) -> None:
    """Kubeline: Kubernetes-native ML pipelines.

    \b
    Inspect runs:  kubeline pipeline runs list; kubeline run describe RUN
    Run snapshots: kubeline pipeline snapshot run NAME --config run.yaml
    """
    ctx.ensure_object(dict)
    ctx.obj.setdefault("namespace", namespace)
    ctx.obj.setdefault("context", kube_context)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="kubeline")

if __name__ == "__main__":
    main()
