"""The runtime of the modules `azero export --format python` writes: azero's arithmetic, random stream and
training loop in plain Python and NumPy.

An exported module carries a copy of the parts of this file it uses: `azero.export.to_python` copies the source
text of the arithmetic helpers a program calls, the random stream section when the program has random ops,
and the training loop section. So this file imports nothing from azero, and every name a section uses is
defined in that section, in the arithmetic helpers or by the exported module itself (F, the memory, setup,
predict, learn).

Exactness is kept where Python allows: plain float arithmetic (IEEE double, no FMA), the reduction orders of
docs/semantics.md §2.4 written out as small helpers, libm through the ``math`` module (wrapped to give IEEE
results where ``math`` raises), the reference's min/max/heaviside rules, and a pure-Python MT19937 with the
Abseil uniform and Gaussian (ziggurat) distributions (docs/semantics.md §6). tests/test_export_runtime.py
checks this module against the compiled executor and random generator, bit for bit.
"""
import math

import numpy as np

F = 4  # features per example: the reduction helpers read it; each exported module defines its own


# ---------------------------------------------------------------------------------------------------------
# Arithmetic as azero's executor does it (IEEE results, the reference's summation orders).

def _div(a, b):
    """a / b with IEEE results for b = +-0 (Python raises ZeroDivisionError there)."""
    if b == 0.0:
        if a != a or a == 0.0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _sin(x):
    return math.sin(x) if math.isfinite(x) else math.nan


def _cos(x):
    return math.cos(x) if math.isfinite(x) else math.nan


def _tan(x):
    return math.tan(x) if math.isfinite(x) else math.nan


def _asin(x):
    return math.asin(x) if -1.0 <= x <= 1.0 else math.nan


def _acos(x):
    return math.acos(x) if -1.0 <= x <= 1.0 else math.nan


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x):
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def _sqrt(x):
    return math.sqrt(x) if x >= 0.0 else math.nan


def _pair_tree(terms):
    """Sum in Eigen's packet order: consecutive pairs added lane-wise by recursive halving, then the two lanes."""
    t = list(terms)
    while len(t) > 2:
        t = [t[i + j] + t[i + j + 2] for i in range(0, len(t), 4) for j in (0, 1)]
    return t[0] + t[1]


def _scalar_tree(terms):
    """Sum by recursive halving: (t0 + t1) + (t2 + t3), ..."""
    t = list(terms)
    while len(t) > 1:
        t = [t[i] + t[i + 1] for i in range(0, len(t), 2)]
    return t[0]


def _two_accumulators(t):
    """Eigen's unrolled sum: two packet accumulators over alternate pairs."""
    a0, a1, b0, b1 = t[0], t[1], t[2], t[3]
    for i in range(4, len(t), 4):
        a0 = a0 + t[i]
        a1 = a1 + t[i + 1]
        b0 = b0 + t[i + 2]
        b1 = b1 + t[i + 3]
    return (a0 + b0) + (a1 + b1)


def _dot(a, b):
    return _pair_tree([x * y for x, y in zip(a, b)])


def _vec_sum(a):
    return _pair_tree(a)


def _std(a):
    """Standard deviation of a vector (or matrix row): sqrt(mean of squares - mean^2)."""
    mu = _vec_sum(a) / F
    return _sqrt(_dot(a, a) / F - mu * mu)


def _mat_sum(m):
    """Sum of the entries in row-major order: in the packet order up to F = 8, by two accumulators above."""
    terms = [x for row in m for x in row]
    return _pair_tree(terms) if F <= 8 else _two_accumulators(terms)


def _mat_norm(m):
    """Frobenius norm (squares summed in the order of _mat_sum)."""
    squares = [x * x for row in m for x in row]
    return _sqrt(_pair_tree(squares) if F <= 8 else _two_accumulators(squares))


def _mat_std(m):
    """Standard deviation of all entries (squares in the packet order up to F = 4, by two accumulators above)."""
    mu = _mat_sum(m) / (F * F)
    squares = [x * x for row in m for x in row]
    mean_square = (_pair_tree(squares) if F <= 4 else _two_accumulators(squares)) / (F * F)
    return _sqrt(mean_square - mu * mu)


def _column_norms(m):
    """Norm of each column, squares summed top to bottom by recursive halving."""
    return [_sqrt(_scalar_tree([row[j] * row[j] for row in m])) for j in range(F)]


def _matvec(m, v):
    """Matrix times vector: up to F = 4 each output is a dot product in the packet order; above, it sums even
    and odd terms in two lanes from +0.0."""
    if F <= 4:
        return [_dot(row, v) for row in m]
    out = []
    for row in m:
        lane0 = lane1 = 0.0
        for k in range(0, F, 2):
            lane0 = lane0 + row[k] * v[k]
            lane1 = lane1 + row[k + 1] * v[k + 1]
        out.append(lane0 + lane1)
    return out


def _matmul(a, b):
    """Matrix product: up to F = 4 each entry sums its F products by recursive halving; above, in order from
    +0.0."""
    if F <= 4:
        return [[_scalar_tree([row[k] * b[k][j] for k in range(F)]) for j in range(F)] for row in a]
    out = []
    for row in a:
        out_row = []
        for j in range(F):
            total = 0.0
            for k in range(F):
                total = total + row[k] * b[k][j]
            out_row.append(total)
        out.append(out_row)
    return out


def _features(x):
    """The features of one example as F floats (v0)."""
    v = [float(t) for t in x]
    if len(v) != F:
        raise ValueError(f"expected {F} features, got {len(v)}")
    return v


# ---------------------------------------------------------------------------------------------------------
# Random stream of the random ops: std::mt19937 with the Abseil (20200923) distributions the reference uses.

# Ziggurat of absl::gaussian_distribution: per strip edge i = 0..128, (x[i], f[i] = exp(-x[i]^2 / 2)) (the same
# numbers as azero/_core/gaussian_ziggurat_tables.txt).
_ZIGGURAT = (
    (3.7130862467425505, 0.0010143525641203774), (3.442619855899, 0.002669629083880923),
    (3.2230849845811416, 0.005548995220771346), (3.0832288582168683, 0.008624484412859889),
    (2.97869625264778, 0.011839478657884869), (2.894344007021529, 0.01516729801054657),
    (2.8231253505489105, 0.01859210273701129), (2.761169372387177, 0.022103304615927095),
    (2.7061135731218195, 0.02569329193593428), (2.6564064112613597, 0.02935631744000685),
    (2.6109722484318474, 0.03308788614622576), (2.569033625924938, 0.036884388786656216),
    (2.5300096723888275, 0.040742868074444175), (2.493454522095372, 0.04466086220049143),
    (2.4590181774118305, 0.048636295859867805), (2.42642064553375, 0.052667401903051005),
    (2.3954342780110625, 0.05675266348104985), (2.3658713701176386, 0.06089077034804041),
    (2.3375752413392368, 0.06508058521306805), (2.310413683698763, 0.06932111739357792),
    (2.2842740596774718, 0.07361150188411342), (2.259059573869198, 0.07795098251397346),
    (2.234686395590979, 0.08233889824223575), (2.211081408878703, 0.08677467189478029),
    (2.1881804320760487, 0.09125780082683037), (2.1659267937489215, 0.09578784912173152),
    (2.144270182360395, 0.10036444102865599), (2.123165708673976, 0.10498725540942143),
    (2.1025731351892376, 0.10965602101484045), (2.082456237992016, 0.11437051244886613),
    (2.062782274508308, 0.11913054670765096), (2.043521536655067, 0.12393598020286797),
    (2.0246469733773846, 0.1287867061959434), (2.006133869963471, 0.13368265258343962),
    (1.987959574127619, 0.13862377998459488), (1.9701032608543256, 0.14361008009062803),
    (1.9525457295535558, 0.1486415742423425), (1.935269228296622, 0.15371831220818194),
    (1.918257300864509, 0.15884037113947957), (1.9014946531051504, 0.16400785468342063),
    (1.8849670357077581, 0.1692208922373653), (1.8686611409944878, 0.17447963833078983),
    (1.85256451172809, 0.17978427212329584), (1.836665460258445, 0.1851349970089926),
    (1.8209529965961244, 0.19053204031913756), (1.8054167642192274, 0.19597565311627815),
    (1.7900469825998575, 0.2014661100743141), (1.7748343955860684, 0.20700370943992694),
    (1.7597702248995923, 0.2125887730717307), (1.7448461281137992, 0.21822164655430584),
    (1.7300541605637292, 0.2239026993850089), (1.7153867407136665, 0.2296323252321166),
    (1.7008366185699157, 0.23541094226347956), (1.686396846779167, 0.2412389935454403),
    (1.6720607540975998, 0.24711694751232186), (1.6578219209540233, 0.25304529850732616),
    (1.6436741568628674, 0.2590245673962053), (1.6296114794706336, 0.2650553022555897),
    (1.6156280950431596, 0.2711380791383852), (1.6017183802213766, 0.2772735029191888),
    (1.5878768648905746, 0.28346220822323365), (1.5740982160229993, 0.28970486044296057),
    (1.5603772223661674, 0.2960021568469337), (1.5467087798599088, 0.30235482778648426),
    (1.5330878776740418, 0.30876363800618184), (1.5195095847659386, 0.3152293880650116),
    (1.505969036863202, 0.3217529158759856), (1.4924614237813527, 0.32833509837285096),
    (1.4789819769899228, 0.33497685331358995), (1.4655259573427093, 0.3416791412315513),
    (1.4520886428892228, 0.3484429675463275), (1.4386653166845615, 0.35526938484791803),
    (1.4252512545140583, 0.36215949536931846), (1.411841712447056, 0.36911445366447315),
    (1.3984319141310035, 0.37613546951056354), (1.38501703773265, 0.38322381105590214),
    (1.3715922024273408, 0.3903808082373156), (1.3581524543301415, 0.39760785649387437),
    (1.3446927517535452, 0.404906420807224), (1.3312079496656253, 0.41227804010266206),
    (1.3176927832094123, 0.4197243320495754), (1.304141850128615, 0.42724699830499707),
    (1.290549591926195, 0.43484783024999185), (1.2769102735601536, 0.4425287152754695),
    (1.2632179614546193, 0.4502916436820403), (1.2494664995730664, 0.4581387162678731),
    (1.2356494832633607, 0.46607215268945723), (1.2217602305399944, 0.47409430069301806),
    (1.2077917504159477, 0.4822076463294864), (1.1937367078331265, 0.49041482528384533),
    (1.1795873846639862, 0.4987186354709807), (1.1653356361647502, 0.5071220510755702),
    (1.1509728421488654, 0.5156282382440031), (1.1364898520131588, 0.5242405726729853),
    (1.1218769225825402, 0.5329626593838374), (1.107123647534034, 0.5417983550254266),
    (1.0922188769072754, 0.5507517931146058), (1.0771506248928935, 0.5598274127040882),
    (1.061905963694822, 0.5690299910679524), (1.046470900764043, 0.5783646811197647),
    (1.030830236068193, 0.5878370544347081), (1.0149673952513278, 0.5974531509445183),
    (0.9988642334929808, 0.607219536625122), (0.9825008035154263, 0.6171433708188826),
    (0.965855079401147, 0.627232485249929), (0.9489026255113034, 0.6374954773350441),
    (0.9316161966151479, 0.6479418211102242), (0.9139652510230293, 0.6585820000500898),
    (0.8959153525809347, 0.6694276673488921), (0.8774274291129205, 0.6804918409973358),
    (0.85845684319381, 0.691789143436677), (0.8389522142975742, 0.70333609901616),
    (0.8188539067003539, 0.7151515074105006), (0.7980920606440535, 0.7272569183441868),
    (0.7765839878947564, 0.7396772436726493), (0.7542306644540521, 0.7524415591746134),
    (0.7309119106424851, 0.7655841738977066), (0.7064796113354326, 0.7791460859296898),
    (0.6807479186691505, 0.7931770117713073), (0.653478638739971, 0.8077382946829628),
    (0.6243585973360462, 0.8229072113814113), (0.5929629424714434, 0.838783605295992),
    (0.5586921784081799, 0.8555006078694531), (0.5206560387620547, 0.8732430489100722),
    (0.47743783729668304, 0.892281650784029), (0.42654798635541524, 0.9130436479717434),
    (0.3628714310970212, 0.9362826816850632), (0.27232086481394774, 0.9635996931270906),
    (0.0, 1.0),
)
_ZG_X = tuple(x for x, _ in _ZIGGURAT)
_ZG_F = tuple(f for _, f in _ZIGGURAT)
_KR = 3.442619855899  # start of the Gaussian tail (= _ZG_X[1])
_KR_INV = 0.29047645161474317  # the reference's 1 / kR


def _top53(bits):
    """bits truncated to its 53 leading significant bits, as a float (exact)."""
    drop = bits.bit_length() - 53
    return float(bits >> drop << drop) if drop > 0 else float(bits)


def _unit(bits):
    """[0, 1) from 64 random bits: bits / 2^64, truncated to 53 significant bits."""
    return math.ldexp(_top53(bits), -64)


def _positive(bits):
    """(0, 1) from 64 random bits: like _unit, but 0 bits give 2^-65."""
    return _unit(bits) if bits else 2.0 ** -65


def _signed(bits):
    """(-1, 1) from 64 random bits: sign from the top bit, magnitude from the low 63 bits (0 gives 2^-64)."""
    magnitude = bits & 0x7FFFFFFFFFFFFFFF
    value = math.ldexp(_top53(magnitude), -63) if magnitude else 2.0 ** -64
    return -value if bits >> 63 else value


class Random:
    """std::mt19937 (seeded like init_genrand) with absl's open-interval uniform and ziggurat Gaussian."""

    def __init__(self, seed=5489):
        self.seed(seed)

    def seed(self, seed):
        state = [seed % 2**32]
        for i in range(1, 624):
            state.append((1812433253 * (state[-1] ^ (state[-1] >> 30)) + i) & 0xFFFFFFFF)
        self.state = state
        self.index = 624

    def _twist(self):
        s = self.state
        for i in range(624):
            y = (s[i] & 0x80000000) | (s[(i + 1) % 624] & 0x7FFFFFFF)
            s[i] = s[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
        self.index = 0

    def next32(self):
        if self.index >= 624:
            self._twist()
        y = self.state[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return y ^ (y >> 18)

    def next64(self):
        """Two words, the first one high."""
        high = self.next32()
        return (high << 32) | self.next32()

    def uniform(self, lo, hi):
        """absl::Uniform<double>(IntervalOpen, lo, hi); an invalid range returns lo without drawing."""
        a = math.nextafter(lo, hi)
        span = hi - a
        if not (a <= hi and math.isfinite(span)):
            return lo
        while True:
            value = a + _unit(self.next64()) * span
            if value < hi or span <= 0:
                return value

    def gaussian(self, mean, stdev):
        """mean + stdev * a standard normal deviate from absl's ziggurat."""
        return mean + stdev * self._normal()

    def _normal(self):
        while True:
            bits = self.next64()
            i = bits & 0x7F
            j = _signed(bits)
            x = j * _ZG_X[i]
            if abs(x) < _ZG_X[i + 1]:
                return x
            if i == 0:
                return self._tail(j < 0)
            v = _positive(self.next64())
            if _ZG_F[i + 1] + v * (_ZG_F[i] - _ZG_F[i + 1]) < math.exp(-0.5 * x * x):
                return x

    def _tail(self, negative):
        while True:
            x = _KR_INV * math.log(_positive(self.next64()))
            y = -math.log(_positive(self.next64()))
            if not (y + y < x * x):
                return x - _KR if negative else _KR - x


_RNG = Random()


def seed(value):
    """Re-seed the random ops' stream (azero.evaluate uses one MT19937(seed) stream for all its tasks)."""
    _RNG.seed(value)


# ---------------------------------------------------------------------------------------------------------
# The executor's loop (docs/semantics.md §3): how azero trains, validates and scores a program on one task.
# `program` is a namespace (evaluate() passes its module's globals()) holding setup(), predict(x), which
# returns s1, learn(x, y), the prediction s1, which the loop rewrites for accuracy tasks, and, when the program
# has random ops, the random stream's seed(value).

_FLIP_SQUASH = -0.63661977236758138243  # -2/pi as the reference's double literal


def _sigmoid(x):
    return 1.0 / (1.0 + _exp(-x))


def _validate(program, valid_x, valid_y, n, accuracy, max_abs_error):
    """Predict the first n validation examples (memory keeps changing); the fitness of the losses."""
    loss = 0.0
    for k in range(n):
        prediction = program["predict"](valid_x[k])
        label = valid_y[k]
        if accuracy:
            p = _sigmoid(prediction)
            if p > 1.0 or p < 0.0:
                error = math.inf
            else:
                error = 0.0 if (label > 0.5) == (p > 0.5) else 1.0
            loss += error
        else:
            error = label - prediction
            loss += error * error
        if not abs(error) <= max_abs_error:
            return 0.0
    loss = _div(loss, float(len(valid_y)))  # always the full validation size
    if accuracy:
        return 1.0 - loss
    rms = _sqrt(loss)
    return 0.0 if math.isnan(rms) or math.isinf(rms) else 1.0 + _FLIP_SQUASH * math.atan(rms)


def _fitness(program, train_x, train_y, valid_x, valid_y, eval_type, seed, max_abs_error, num_train_examples,
             num_valid_examples, epoch_orders):
    """Fitness of the program on one task, as azero.evaluate computes it (the arguments of evaluate())."""
    if eval_type not in ("rms_error", "accuracy"):
        raise ValueError(f"eval_type must be 'rms_error' or 'accuracy', got {eval_type!r}")
    accuracy = eval_type == "accuracy"
    train_x = np.asarray(train_x, dtype=np.float64).tolist()
    train_y = np.asarray(train_y, dtype=np.float64).tolist()
    valid_x = np.asarray(valid_x, dtype=np.float64).tolist()
    valid_y = np.asarray(valid_y, dtype=np.float64).tolist()
    per_epoch = len(train_y)
    orders = [range(per_epoch)] if epoch_orders is None else [[int(k) for k in order] for order in epoch_orders]
    total = per_epoch * len(orders)
    if num_train_examples is not None:
        total = min(total, num_train_examples)
    n_valid = len(valid_y) if num_valid_examples is None else min(num_valid_examples, len(valid_y))
    if seed is not None and "seed" in program:  # without random ops, `seed` changes nothing
        program["seed"](seed)
    program["setup"]()
    remaining, best, epoch = total, 0.0, 0
    while remaining > 0:
        trained = True
        for k in orders[epoch][:min(per_epoch, remaining)]:
            prediction = program["predict"](train_x[k])
            if accuracy:
                prediction = program["s1"] = _sigmoid(prediction)
            if not abs(train_y[k] - prediction) <= max_abs_error:
                trained = False
                break
            program["learn"](train_x[k], train_y[k])
        if not trained:
            return 0.0 if remaining == total else best
        remaining -= per_epoch
        best = max(best, _validate(program, valid_x, valid_y, n_valid, accuracy, max_abs_error))
        epoch += 1
    return best


def evaluate(train_x, train_y, valid_x, valid_y, eval_type="rms_error", seed=10000, *, max_abs_error=100.0,
             num_train_examples=None, num_valid_examples=None, epoch_orders=None):
    """Fitness of the program on one task, computed as azero.evaluate computes it.

    setup() on wiped memory, then per epoch: for each train example predict() (for "accuracy" s1 becomes
    sigmoid(s1)), stop if |label - s1| is NaN or > max_abs_error, learn(); then predict() every validation
    example. Returns the best epoch's fitness: 1 - 2/pi * atan(RMS error) for "rms_error", the fraction of
    correct classes for "accuracy"; 0.0 if training fails in the first epoch. `seed` seeds the random ops'
    stream (None continues it, as azero does from one task to the next). `epoch_orders` lists the example
    order of each epoch (default one epoch in order; azero's Task.epoch_orders gives its shuffles). The
    program is the one of the module this function is copied into (an exported module).
    """
    return _fitness(globals(), train_x, train_y, valid_x, valid_y, eval_type, seed, max_abs_error,
                    num_train_examples, num_valid_examples, epoch_orders)
