"""The kernel as an MCP server (`codemode-kernel mcp`): `exec` and `wait` for any MCP client.
Above the client layer: it drives kernels through `CodeModeClient`."""
