"""The two-layer regression network, trained with MSE and Adam.
============================================================

Reproduces seed 000_772b7dbcbab2887b.txt, section 4 ("具体代码实例", 4.1-4.5): two features
x1, x2 ~ U(0, 1), 100 samples, y = 2 x1 + 3 x2 + U(0, 1); the network
Linear(2, 10) -> ReLU -> Linear(10, 1); the mean squared error; Adam with lr = 0.01;
1000 epochs of full-batch training, printing the loss every 100.

Seed bugs fixed here:

- The seed makes x1, x2 and y with numpy and hands the numpy arrays straight to ``torch.cat``
  and to the loss. PyTorch refuses both (``torch.cat`` wants a tuple of Tensors; ``mse_loss``
  a Tensor target). Here the data are minigrad Tensors from the start (``mg.rand``), in
  float32 like the model's weights.
- The seed draws its data and initial weights without a seed; here ``mg.manual_seed(0)`` makes
  every number printed below the same on every run.

Run::

    python examples/two_layer_regression.py
"""
import time

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim

mg.manual_seed(0)
start = time.perf_counter()

# ---- 4.1 the data: y = 2 x1 + 3 x2 + noise, noise ~ U(0, 1) -----------------------------
n = 100
x1 = mg.rand(n, 1)
x2 = mg.rand(n, 1)
noise = mg.rand(n, 1)
y = 2 * x1 + 3 * x2 + noise
# The network's input: the two features side by side, shape (100, 2). (The seed calls
# torch.cat on numpy arrays, which fails; x1 and x2 are Tensors here, so cat just works.)
x = mg.cat((x1, x2), dim=1)


# ---- 4.2 the model ------------------------------------------------------------------------
class LinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(2, 10)
        self.layer2 = nn.Linear(10, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.layer1(x)
        x = self.relu(x)
        x = self.layer2(x)
        return x


model = LinearRegression()


# ---- 4.3 the loss -------------------------------------------------------------------------
def loss_function(y_pred, y):
    """MSE = (1/n) sum_i (y_i - y_pred_i)^2, PyTorch's (and minigrad's) F.mse_loss.

    The seed's section 3.1 writes the loss as L = 1/(2n) sum_i (y_i - y_pred_i)^2 = MSE / 2.
    The factor 1/2 only cancels the 2 of the derivative (dL/dy_pred_i = (y_pred_i - y_i) / n);
    it halves the gradient but moves no minimum. Both are printed at the end.
    """
    return F.mse_loss(y_pred, y)


# ---- 4.4 the optimizer --------------------------------------------------------------------
optimizer = optim.Adam(model.parameters(), lr=0.01)

# ---- 4.5 training: full batch, 1000 epochs ------------------------------------------------
num_epochs = 1000
for epoch in range(num_epochs):
    optimizer.zero_grad()
    y_pred = model(x)
    loss = loss_function(y_pred, y)
    loss.backward()
    optimizer.step()

    if epoch % 100 == 0:
        print(f"Epoch {epoch}, Loss: {loss.item():.6f}")

# ---- how good is that? ----------------------------------------------------------------------
# The best any model of x1, x2 can do is predict E[y | x1, x2] = 2 x1 + 3 x2 + 1/2: the noise
# U(0, 1) has mean 1/2, which the output layer's bias absorbs, so what no model can explain is
# the noise's spread around its mean: its variance, Var U(0, 1) = 1/12 = 0.0833. That is the
# floor of the expected MSE (the noise floor). On 100 samples the floor is the variance of the
# noise actually drawn (printed too); a flexible model can dip slightly below it by fitting
# part of that particular noise.
with mg.no_grad():
    y_pred = model(x)
    final_mse = F.mse_loss(y_pred, y).item()
    half_sum = (((y - y_pred) ** 2).sum() / (2 * n)).item()
noise_variance = noise.var(unbiased=False).item()
print(f"final MSE (1/n) sum (y - y_pred)^2:        {final_mse:.6f}")
print(f"seed's loss L = 1/(2n) sum (y - y_pred)^2:  {half_sum:.6f}  (= MSE / 2)")
print(f"noise floor Var U(0,1) = 1/12:              {1 / 12:.6f}")
print(f"variance of the noise drawn here:           {noise_variance:.6f}")
print(f"training took {time.perf_counter() - start:.3f} s")
