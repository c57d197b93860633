"""Partitioners (stage 3): map agent embeddings to parameter groups.

Importing this package registers the built-ins in ``seps.registry.PARTITIONERS``:
``kmeans`` (given K), ``kmeans_db`` and ``kmeans_silhouette`` (K chosen by Davies–Bouldin
or silhouette), ``hdbscan`` (density-based; needs the hdbscan package only when fitted)
and ``fixed`` (FuPS, NoPS or explicit labels). See :mod:`seps.clustering.base` for the
interface and for when K = 1 is returned.
"""

from seps.clustering import fixed, hdbscan_partitioner, kmeans
from seps.clustering.base import Partitioner
from seps.clustering.fixed import Fixed
from seps.clustering.hdbscan_partitioner import HDBSCANPartitioner
from seps.clustering.kmeans import KMeansDaviesBouldin, KMeansPartitioner, KMeansSilhouette

__all__ = [
    "Fixed",
    "HDBSCANPartitioner",
    "KMeansDaviesBouldin",
    "KMeansPartitioner",
    "KMeansSilhouette",
    "Partitioner",
    "fixed",
    "hdbscan_partitioner",
    "kmeans",
]
