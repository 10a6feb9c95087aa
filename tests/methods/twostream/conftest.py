import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these models are tiny and the test machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
