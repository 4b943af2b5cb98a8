"""The Jupyter layer: the kernel class and app, IOPub publishing, the `codemode` comm, and
introspection. The only room that imports ipykernel or comm."""
