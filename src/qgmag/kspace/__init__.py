"""k-space meshes (uniform, disk, box), chunked."""

from qgmag.kspace.mesh import BoxMesh, DiskMesh, Mesh, UniformMesh, chunk_bounds, make_mesh

__all__ = ["BoxMesh", "DiskMesh", "Mesh", "UniformMesh", "chunk_bounds", "make_mesh"]
