"""The code-mode session: cells by id (`cell`), the store, tool routing (`router`). No Jupyter
and no V8 details: the runtime is reached through `CellRuntime`, requests through `Observer`."""
