#!/bin/bash
# Start the codemode kernel in a kernel pod: Enterprise Gateway's Python launcher, given the kernel
# class, with the connection details the gateway put into the pod's environment.
set -euo pipefail
KERNEL_LAUNCHERS_PATH=${KERNEL_LAUNCHERS_PATH:-/usr/local/share/jupyter/kernel-launchers}
export JPY_PARENT_PID=$$
exec python "${KERNEL_LAUNCHERS_PATH}/python/scripts/launch_ipykernel.py" \
    --kernel-class-name codemode_kernel.kernel.kernel.CodeModeKernel \
    --RemoteProcessProxy.kernel-id "${KERNEL_ID}" \
    --RemoteProcessProxy.response-address "${EG_RESPONSE_ADDRESS}" \
    --RemoteProcessProxy.public-key "${EG_PUBLIC_KEY}" \
    --RemoteProcessProxy.port-range "${EG_PORT_RANGE:-0..0}" \
    --RemoteProcessProxy.spark-context-initialization-mode none
