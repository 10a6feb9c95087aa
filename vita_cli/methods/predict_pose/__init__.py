"""Skeleton-Graph (Mohamed, Chen, Wang, Claudel, ICCV-W 2021): future 3D poses from observed 2D poses.

Modules: ``skeleton`` (the common 16-joint skeleton and joint maps), ``mocap`` (DeepMimic, BVH and npz
readers), ``windows`` (virtual cameras, projection, splits), ``model`` (Skeleton-Graph and baselines),
``metrics`` (the paper's horizon metrics and losses), ``engine`` (data assembly, training, evaluation),
``figures`` and ``pipeline`` (one ``run_*`` per verb action).
"""

from vita_cli.methods.predict_pose.config import PosePredRecipe
from vita_cli.methods.predict_pose.mocap import Clip, read_motion
from vita_cli.methods.predict_pose.skeleton import JOINTS

__all__ = ["Clip", "JOINTS", "PosePredRecipe", "read_motion"]
