"""placeholder"""
def module_source(act, target, **params):
    raise NotImplementedError
