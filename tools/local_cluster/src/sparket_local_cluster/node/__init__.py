"""A real worker node for the local cluster: containerd v2 + runc, the CNI bridge, a kubelet
and kube-proxy, started and stopped like the control plane (issue 19).

`layout` names every path the node uses, `config` renders each component's configuration
(pure), `images` builds the sandbox image and loads images into containerd, `host` snapshots
and restores the host state the node changes, and `node.RealNode` runs it all.
"""
