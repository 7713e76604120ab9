"""Small helpers shared by the function families."""


def method_form(name):
    """``f(input, *args, **kwargs)`` calling ``input.<name>(...)``: the function form of a
    method that is defined on Tensor itself."""

    def function(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = f"Function form of ``Tensor.{name}``."
    return function
