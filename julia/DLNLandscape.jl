"""
    DLNLandscape

The Julia half of dlnlandscape's `julia` engine: HomotopyContinuation.jl (HC.jl) solves the
gradient system ∇L = 0 of a deep linear network, and the results go back to Python as plain
arrays.

Why a parameter homotopy. The network's structure (widths, residual layers, normalisation)
fixes the polynomial system up to its coefficients, and those are polynomials in the data X, Y
and the penalty coefficients C. So the system is built once, symbolically, with X, Y and C as
HC.jl *parameters*. One solve at random complex parameters — polyhedral, (multihomogeneous)
total degree, or monodromy — is cached per structure, and each real instance is reached by a
parameter homotopy that tracks one path per generic solution instead of one per root bound
(coefficient-parameter continuation; Sommese & Wampler, *The Numerical Solution of Systems of
Polynomials*, ch. 7).

Why the origin is never tracked. ∇L has no constant term, so the origin is a root for every
parameter value. HC.jl's parameter homotopies lose paths that stay at the origin (HC.jl issue
#647; the fix, PR #691, is in no release up to v2.20), so starts at the origin are dropped
here and the Python side adds the origin after checking it explicitly.

Why monodromy runs once per zero pattern. Monodromy only finds roots on the irreducible
component of its start pair. Roots with inactive hidden neurons (row of W_l and column of
W_{l+1} all zero) lie on other components, so every pattern of inactive neurons that keeps one
neuron per hidden layer gets its own start pair; the sign flips of hidden neurons are the
group action (DOMAIN.md, "Symmetries").
"""
module DLNLandscape

using HomotopyContinuation
import LinearAlgebra
import Random

export network_system, sparse_system, solve_network, solve_sparse

"A start closer than this to the origin (∞-norm) is the origin."
const ORIGIN_TOL = 1e-8

"Generic solves, keyed by structure, start system and seed: (F, p₀, start solutions, info)."
const GENERIC = Dict{Any,Any}()

rowmajor(M::AbstractMatrix) = vec(permutedims(M))
hc_seed(seed::Integer) = seed % UInt32
layer_sizes(w) = [w[i+1] * w[i] for i = 1:length(w)-1]
shifted(W) = [W[a, b] + Int(a == b) for a in axes(W, 1), b in axes(W, 2)]
has_residual_layer(w, resnet) = resnet && any(w[i+1] == w[i] for i = 1:length(w)-1)

"""
    network_system(widths, samples; resnet = false, scale = 1.0)

∇L of `L = scale/2 ‖P X − Y‖² + ½ Σᵢ Cᵢ∘Wᵢ∘Wᵢ` as a `System`. Variables are the weights, row
by row and layer by layer (the order of the Python `Problem`); parameters are X and Y (row
major) followed by one penalty coefficient per weight, in the variables' order.
"""
function network_system(
    widths::AbstractVector{<:Integer},
    samples::Integer;
    resnet::Bool = false,
    scale::Real = 1.0,
)
    w = collect(Int, widths)
    H = length(w) - 1
    d = maximum(w)
    @var W[1:H, 1:d, 1:d] x[1:w[1], 1:samples] y[1:w[end], 1:samples] c[1:H, 1:d, 1:d]
    Ws = [W[i, 1:w[i+1], 1:w[i]] for i = 1:H]
    Cs = [c[i, 1:w[i+1], 1:w[i]] for i = 1:H]
    Ms = [resnet && w[i+1] == w[i] ? shifted(Ws[i]) : Ws[i] for i = 1:H]
    P = foldl((A, M) -> M * A, Ms[2:end]; init = Ms[1])
    E = P * x - y
    L = scale / 2 * sum(E .^ 2) + sum(sum(Cs[i] .* Ws[i] .^ 2) for i = 1:H) / 2
    vars = reduce(vcat, rowmajor.(Ws))
    params = [rowmajor(x); rowmajor(y); reduce(vcat, rowmajor.(Cs))]
    System(differentiate(L, vars); variables = vars, parameters = params)
end

"""
    sparse_system(exponents, coefficients, offsets)

A system given term by term: equation k has the rows `offsets[k]+1:offsets[k+1]` of the
`(terms, n)` matrix `exponents` and of `coefficients`.
"""
function sparse_system(
    exponents::AbstractMatrix{<:Integer},
    coefficients::AbstractVector{<:Number},
    offsets::AbstractVector{<:Integer},
)
    n = size(exponents, 2)
    @var z[1:n]
    terms = [(offsets[k]+1):offsets[k+1] for k = 1:length(offsets)-1]
    support = [Matrix{Int}(permutedims(exponents[t, :])) for t in terms]
    System(support, [collect(coefficients[t]) for t in terms]; variables = z)
end

"The same system with one variable group per block of `sizes` consecutive variables."
function grouped(F::System, sizes)
    v = variables(F)
    stops = cumsum(sizes)
    groups = [v[(e-s+1):e] for (s, e) in zip(sizes, stops)]
    System(expressions(F); variables = v, parameters = parameters(F), variable_groups = groups)
end

"Keywords of `solve` for a start system; `only_non_zero = false` keeps roots with zeros."
function start_keywords(start::AbstractString)
    start == "polyhedral" && return (start_system = :polyhedral, only_non_zero = false)
    start in ("total_degree", "multihomogeneous") && return (start_system = :total_degree,)
    throw(ArgumentError("start system $start: expected polyhedral, total_degree or multihomogeneous"))
end

# ---------------------------------------------------------------- sign flips and zero patterns

"Coordinates of hidden neuron `j` of hidden layer `l`: row j of W_l and column j of W_{l+1}."
function neuron_coordinates(w, l, j)
    offset = cumsum([0; layer_sizes(w)])
    row = offset[l] .+ (j - 1) * w[l] .+ (1:w[l])
    column = offset[l+1] .+ (0:w[l+2]-1) .* w[l+1] .+ j
    [row; column]
end

hidden_neurons(w) = [(l, j) for l = 1:length(w)-2 for j = 1:w[l+1]]

"The sign flip of one hidden neuron, as an HC.jl group action (one solution in, one out)."
flip(idx) = s -> (t = copy(s); t[idx] .= .-t[idx]; t)

"""
    units(w, resnet)

The hidden units that can be inactive, as (hidden layers, coordinates): a hidden neuron with
its incoming row and outgoing column — and, across a residual layer I + W (square), the
neurons j it links, whose rows and columns (the residual layer's diagonal entry too) vanish
together: such a unit computes 0 for every input, so its equations vanish identically when its
coordinates are 0. A unit tied to the input or the output by a residual layer passes x_j (or
reaches y_j) through the identity and is never inactive: it is left out. Mirrors the Python
engine's `Family.units` (dlnlandscape/engines/native/family.py), where one pattern for a whole
residual (1,2,2,1) network found 112 of msolve's 129 critical points (96 + 2 · 16 + 1 by units).
"""
function units(w, resnet)
    H = length(w) - 1
    residual(i) = resnet && w[i] == w[i+1]  # W_i, from layer i-1 to layer i, is I + W_i
    out = Tuple{Vector{Int},Vector{Int}}[]
    for l = 1:H-1, j = 1:w[l+1]
        l > 1 && residual(l) && continue  # neuron j of hidden layer l is in the unit one layer down
        tied = residual(l)  # l == 1: tied to the input
        layers, coordinates = Int[], Int[]
        last = l
        while true
            push!(layers, last)
            append!(coordinates, neuron_coordinates(w, last, j))
            residual(last + 1) || break
            if last + 1 == H
                tied = true  # to the output
                break
            end
            last += 1
        end
        tied || push!(out, (layers, sort!(unique(coordinates))))
    end
    out
end

"Sets of inactive units that leave at least one active neuron in every hidden layer."
function inactive_patterns(w, resnet)
    H = length(w) - 1
    H == 1 && return [Tuple{Vector{Int},Vector{Int}}[]]
    us = units(w, resnet)
    patterns = Vector{Tuple{Vector{Int},Vector{Int}}}[]
    for mask = 0:(2^length(us)-1)
        inactive = [us[k] for k = 1:length(us) if isodd(mask >> (k - 1))]
        any(l -> count(u -> l in u[1], inactive) == w[l+1], 1:H-1) || push!(patterns, inactive)
    end
    patterns
end

"All images of `sols` under the group, without duplicates."
function orbits(sols, actions)
    (isempty(actions) || isempty(sols)) && return sols
    G = GroupActions(actions...)
    unique_points(reduce(vcat, [G(s) for s in sols]))
end

"""
    start_pair(F, zero_coordinates, rng)

A root `x` and parameters `p` of the network system, without solving anything: ∇L is linear
in the penalty coefficients with `∂L/∂wₖ = gₖ(x; X, Y) + cₖ xₖ`, so for random x, X, Y the
choice `cₖ = −gₖ/xₖ` makes x a root. The `zero_coordinates` are set to 0 (their gₖ vanish
identically when whole neurons are inactive) and keep a random cₖ.
"""
function start_pair(F::System, zero_coordinates, rng)
    n, N = nvariables(F), nparameters(F)
    x = randn(rng, ComplexF64, n)
    x[zero_coordinates] .= 0
    p = randn(rng, ComplexF64, N)
    p[(N-n+1):N] .= 0
    g = F(x, p)
    c = randn(rng, ComplexF64, n)
    active = findall(!iszero, x)
    c[active] = -g[active] ./ x[active]
    p[(N-n+1):N] = c
    x, p
end

"""
    verify_pattern(F, S, p, seed; trace_tol)

HC.jl's `verify_solution_completeness` (the trace test of Leykin, Rodriguez and Sottile) on one
pattern's solutions `S` at parameters `p`: `true` when the trace is linear (every solution of
the pattern's component is in `S`), `false` when it is not, `nothing` when HC.jl could not
carry the test out (it lost a path on the way). The test draws its line and slice from Julia's
global generator, so that is seeded first: a rerun gives the same verdict.
"""
function verify_pattern(F::System, S, p, seed; trace_tol)
    isempty(S) && return nothing
    Random.seed!(hc_seed(seed))
    verify_solution_completeness(
        F,
        S,
        p;
        show_progress = false,
        trace_tol = trace_tol,
        monodromy_options = (seed = hc_seed(seed),),
        parameter_homotopy_options = (seed = hc_seed(seed),),
    )
end

"""
    monodromy_generic(F, w, resnet, p₀, rng, seed; trusted_count, verify, trace_tol)

One monodromy solve per pattern of inactive units (`units`), each from its own start pair drawn from
`rng` (the stream that also drew p₀, continued: the start points are independent of p₀), then
moved to p₀. With `verify`, every pattern's solutions go through `verify_pattern`; its verdict
is the pattern's completeness. `trusted_count` (all critical points, the origin included) is
HC.jl's `target_solutions_count` where it can be split per pattern — a single pattern, whose
classes under the sign flips are (count − origin) / 2^neurons — and otherwise is compared with
the total by the caller.
"""
function monodromy_generic(F::System, w, resnet, p₀, rng, seed; trusted_count = nothing, verify = true, trace_tol = 1e-10)
    neurons = has_residual_layer(w, resnet) ? Tuple{Int,Int}[] : hidden_neurons(w)
    actions = [flip(neuron_coordinates(w, l, j)) for (l, j) in neurons]
    patterns = inactive_patterns(w, resnet)
    target = nothing
    if !isnothing(trusted_count) && length(patterns) == 1
        classes, rest = divrem(trusted_count - 1, 2^length(neurons))
        target = rest == 0 && classes > 0 ? classes : nothing
    end
    found = Vector{ComplexF64}[]
    runs = Dict{String,Any}[]
    for inactive in patterns
        zero_coordinates = unique(reduce(vcat, [u[2] for u in inactive]; init = Int[]))
        x, p = start_pair(F, zero_coordinates, rng)
        M = monodromy_solve(
            F,
            [x],
            p;
            group_actions = isempty(actions) ? nothing : actions,
            target_solutions_count = target,
            seed = hc_seed(seed),
            show_progress = false,
        )
        S = orbits(solutions(M), actions)
        verified = verify ? verify_pattern(F, S, p, seed; trace_tol = trace_tol) : nothing
        moved = Vector{ComplexF64}[]
        if !isempty(S)
            R = solve(F, S; start_parameters = p, target_parameters = p₀, seed = hc_seed(seed), show_progress = false)
            moved = solutions(R)
        end
        append!(found, moved)
        push!(
            runs,
            Dict{String,Any}(
                "inactive_neurons" => sum(u -> length(u[1]), inactive; init = 0),
                "active_coordinates" => nvariables(F) - length(zero_coordinates),
                "classes" => nsolutions(M),
                "return_code" => string(M.returncode),
                "success" => is_success(M),
                "heuristic_stop" => is_heuristic_stop(M),
                "target_solutions_count" => target,
                "trace_test" => verify ? (isnothing(verified) ? "not_computed" : (verified ? "passed" : "failed")) : "not_run",
                "solutions" => length(S),
                "lost_moving_to_generic" => length(S) - length(moved),
            ),
        )
    end
    info = Dict{String,Any}(
        "monodromy_runs" => runs,
        "paths" => sum(r -> r["solutions"], runs; init = 0),
        "trace_tol" => trace_tol,
        "trusted_count" => trusted_count,
    )
    found, info
end

# ---------------------------------------------------------------- generic solve, then targets

function path_counts(prs)
    Dict{String,Any}(
        "paths" => length(prs),
        "nonsingular" => count(is_nonsingular, prs),
        "singular" => count(r -> is_success(r) && is_singular(r), prs),
        "at_infinity" => count(is_at_infinity, prs),
        "failed" => count(r -> !is_success(r) && !is_at_infinity(r), prs),
    )
end

"The cached generic solve for a structure: `(F, p₀, starts, info)` and whether it was cached."
function generic_solve(w, samples, resnet, scale, start, seed; trusted_count = nothing, verify = true, trace_tol = 1e-10)
    key = (Tuple(w), samples, resnet, Float64(scale), start, seed, trusted_count, verify, trace_tol)
    haskey(GENERIC, key) && return GENERIC[key], true
    started = time()
    F = network_system(w, samples; resnet = resnet, scale = scale)
    rng = Random.Xoshiro(seed)  # one stream: p₀ first, then the start pairs
    p₀ = randn(rng, ComplexF64, nparameters(F))
    if start == "monodromy"
        sols, info = monodromy_generic(F, w, resnet, p₀, rng, seed; trusted_count, verify, trace_tol)
    else
        G = start == "multihomogeneous" ? grouped(F, layer_sizes(w)) : F
        R = solve(G; target_parameters = p₀, seed = hc_seed(seed), show_progress = false, start_keywords(start)...)
        sols, info = solutions(R), path_counts(path_results(R))
    end
    starts = filter(s -> maximum(abs, s) > ORIGIN_TOL, sols)
    info["solutions"] = length(sols)
    info["origin_found"] = length(starts) < length(sols)
    info["seconds"] = time() - started
    GENERIC[key] = (F, p₀, starts, info)
    GENERIC[key], false
end

"Track `starts` from p₀ to every target; one vector of `PathResult`s per target."
function track_to_targets(F, p₀, starts, targets, seed)
    isempty(starts) && return [PathResult[] for _ in targets]
    solve(
        F,
        starts;
        start_parameters = p₀,
        target_parameters = targets,
        transform_result = (R, p) -> path_results(R),
        seed = hc_seed(seed),
        show_progress = false,
    )
end

"Krawczyk certificates (HC.jl `certify`) of the nonsingular endpoints: (certified, certified real)."
function certify_paths(F, prs, p)
    certified, reals = fill(false, length(prs)), fill(false, length(prs))
    idx = findall(is_nonsingular, prs)
    isempty(idx) && return certified, reals
    C = certify(F, solution.(prs[idx]), p; show_progress = false)
    for (k, c) in zip(idx, certificates(C))
        certified[k] = is_certified(c)
        reals[k] = is_certified(c) && is_real(c)
    end
    certified, reals
end

"Path results as arrays: one column per path; return codes index `code_names`."
function export_paths(prs, n; certification = nothing)
    points = zeros(ComplexF64, n, length(prs))
    for (k, r) in enumerate(prs)
        points[:, k] = solution(r)
    end
    codes = [string(r.return_code) for r in prs]
    names = unique(codes)
    Dict{String,Any}(
        "solutions" => points,
        "code" => Int8[findfirst(==(c), names) - 1 for c in codes],
        "code_names" => names,
        "singular" => Bool[is_singular(r) for r in prs],
        "winding_number" => Int[something(winding_number(r), 0) for r in prs],
        "multiplicity" => Int[multiplicity(r) for r in prs],
        "condition" => Float64[LinearAlgebra.cond(r) for r in prs],
        "residual" => Float64[residual(r) for r in prs],
        "accuracy" => Float64[accuracy(r) for r in prs],
        "steps" => Int[steps(r) for r in prs],
        "real" => Bool[is_real(r) for r in prs],
        "certified" => isnothing(certification) ? nothing : certification[1],
        "certified_real" => isnothing(certification) ? nothing : certification[2],
    )
end

about() = Dict{String,Any}(
    "julia" => string(VERSION),
    "homotopycontinuation" => string(pkgversion(HomotopyContinuation)),
    "threads" => Threads.nthreads(),
)

"""
    solve_network(widths, scale, resnet, X, Y, C; start, seed, certification, trusted_count, verify, trace_tol)

All critical points of one or many instances of a network: `X[k, :, :]`, `Y[k, :, :]` and
`C[k, :]` (penalty coefficients in the variables' order) are instance k. Returns
`Dict("instances" => [export per instance], "info" => Dict)`. For `start = "monodromy"`,
`verify` runs the trace test on every pattern (`monodromy_generic`) and `trusted_count` is the
known number of critical points, when there is one.
"""
function solve_network(
    widths::AbstractVector{<:Integer},
    scale::Real,
    resnet::Bool,
    X::AbstractArray{<:Real,3},
    Y::AbstractArray{<:Real,3},
    C::AbstractMatrix{<:Real};
    start::AbstractString = "polyhedral",
    seed::Integer = 0,
    certification::Bool = false,
    trusted_count::Union{Nothing,Integer} = nothing,
    verify::Bool = true,
    trace_tol::Real = 1e-10,
)
    started = time()
    w = collect(Int, widths)
    (F, p₀, starts, generic), cached = generic_solve(
        w,
        size(X, 3),
        resnet,
        scale,
        start,
        seed;
        trusted_count = trusted_count,
        verify = verify,
        trace_tol = Float64(trace_tol),
    )
    targets = [Float64[rowmajor(X[k, :, :]); rowmajor(Y[k, :, :]); C[k, :]] for k in axes(X, 1)]
    results = track_to_targets(F, p₀, starts, targets, seed)
    instances = [
        export_paths(prs, nvariables(F); certification = certification ? certify_paths(F, prs, q) : nothing)
        for (prs, q) in zip(results, targets)
    ]
    info = merge(
        about(),
        Dict{String,Any}(
            "generic" => generic,
            "cached" => cached,
            "tracked_per_instance" => length(starts),
            "origin_tracked" => false,
            "seed" => seed,
            "seconds" => time() - started,
        ),
    )
    Dict{String,Any}("instances" => instances, "info" => info)
end

"""
    solve_sparse(exponents, coefficients, offsets, group_sizes; start, seed, certification)

Solve a system given term by term (see `sparse_system`) directly, with one variable group per
block of `group_sizes` variables for `start = "multihomogeneous"`.
"""
function solve_sparse(
    exponents::AbstractMatrix{<:Integer},
    coefficients::AbstractVector{<:Number},
    offsets::AbstractVector{<:Integer},
    group_sizes::AbstractVector{<:Integer};
    start::AbstractString = "polyhedral",
    seed::Integer = 0,
    certification::Bool = false,
)
    started = time()
    F = sparse_system(exponents, coefficients, offsets)
    G = start == "multihomogeneous" ? grouped(F, collect(Int, group_sizes)) : F
    prs = path_results(solve(G; seed = hc_seed(seed), show_progress = false, start_keywords(start)...))
    certified = certification ? certify_paths(F, prs, nothing) : nothing
    info = merge(about(), Dict{String,Any}("origin_tracked" => true, "seed" => seed, "seconds" => time() - started))
    Dict{String,Any}("instances" => [export_paths(prs, nvariables(F); certification = certified)], "info" => info)
end

end # module
