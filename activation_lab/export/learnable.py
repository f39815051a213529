"""placeholder"""
def torch_module(act, learnable=(), **params):
    raise NotImplementedError
