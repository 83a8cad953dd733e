"""The catalog as a `dg` component: a `defs.yaml` with `type: datanectar.components.CatalogComponent`.

```yaml
# src/my_project/defs/weather/defs.yaml
type: datanectar.components.CatalogComponent
attributes:
  project: ../../../..          # the folder of the pyproject.toml with [tool.datanectar]
  modules: [my_project.pipelines]
```
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from .assets import definitions


class CatalogComponent(dg.Component, dg.Resolvable, dg.Model):
    """A datanectar project's catalog, functions and checks, as the definitions of one component."""

    project: str | None = Field(
        default=None,
        description="The datanectar project: a folder holding a pyproject.toml with "
        "[tool.datanectar] (or that file itself), relative to this defs.yaml. Default: the "
        "nearest such pyproject.toml above the defs.yaml.",
    )
    modules: list[str] | None = Field(
        default=None,
        description="Modules holding the functions that produce entries; replaces "
        "[tool.datanectar] modules.",
    )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        # Relative to the component's folder, as dg resolves every other path of a defs.yaml.
        start = context.path / self.project if self.project is not None else context.path
        return definitions(Path(start).resolve(), modules=self.modules)
