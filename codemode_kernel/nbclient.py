"""`codemode_kernel.nbclient.run_notebook`: the documented import path of the nbclient runner."""

from .client.nbclient import (
    CodeModeNotebookClient,
    async_run_notebook,
    run_notebook,
    run_notebook_path,
)

__all__ = ["CodeModeNotebookClient", "async_run_notebook", "run_notebook", "run_notebook_path"]
