# Golden files for didstudy's year-by-year PSM (tests/estimation/test_psm.py).
#
# Command (from the repository root; needs R with MatchIt, e.g. Debian
#   apt-get install -y r-base-core r-cran-matchit):
#
#   Rscript tests/reference/psm/generate.R
#
# Writes, next to this script:
#   panel.csv    the simulated test panel (unit, year, group, x1, x2, x3) -- SIMULATED DATA
#   pscore.csv   per unit-year propensity score from glm(binomial(logit)) fitted year by year
#   matches.csv  spec, year, treated, rank, control: MatchIt nearest-neighbour matches
#   balance.csv  spec, year, variable, smd_all, smd_matched (summary.matchit "Std. Mean Diff.")
#   matches_pooled.csv  pooled cross-section matching (one logit over all unit-years)
#   versions.txt R and MatchIt versions
#
# The panel is generated here, written with 6 decimals and read back, so that R and Python
# match on exactly the same numbers.
suppressPackageStartupMessages(library(MatchIt))
here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "."
})

set.seed(20240607)
n_units <- 90
years <- 2010:2014
group <- c(rep(1L, 24), rep(0L, n_units - 24))
a1 <- rnorm(n_units, 0.6 * group)
a2 <- rnorm(n_units, -0.4 * group)
a3 <- runif(n_units)
rows <- list()
for (t in years) {
  rows[[length(rows) + 1]] <- data.frame(
    unit = 1001:(1000 + n_units), year = t, group = group,
    x1 = round(a1 + rnorm(n_units, 0, 0.5), 6),
    x2 = round(a2 + 0.1 * (t - 2010) + rnorm(n_units, 0, 0.5), 6),
    x3 = round(a3 + rnorm(n_units, 0, 0.2), 6)
  )
}
panel <- do.call(rbind, rows)
write.csv(panel, file.path(here, "panel.csv"), row.names = FALSE)
panel <- read.csv(file.path(here, "panel.csv"))

specs <- list(
  list(name = "k1_norep", ratio = 1, replace = FALSE, caliper = NULL, discard = "none"),
  list(name = "k2_norep", ratio = 2, replace = FALSE, caliper = NULL, discard = "none"),
  list(name = "k1_rep", ratio = 1, replace = TRUE, caliper = NULL, discard = "none"),
  list(name = "k2_rep", ratio = 2, replace = TRUE, caliper = NULL, discard = "none"),
  list(name = "k1_norep_cal", ratio = 1, replace = FALSE, caliper = 0.1, discard = "none"),
  list(name = "k2_norep_cal", ratio = 2, replace = FALSE, caliper = 0.05, discard = "none"),
  list(name = "k1_norep_cs", ratio = 1, replace = FALSE, caliper = NULL, discard = "treated"),
  list(name = "k1_rep_cal_cs", ratio = 1, replace = TRUE, caliper = 0.1, discard = "both"),
  # distance = logit of the propensity score (MatchIt link = "linear.logit"), Austin's 0.2 SD
  list(name = "k1_norep_lin_cal", ratio = 1, replace = FALSE, caliper = 0.2, discard = "none",
       linear = TRUE)
)

ps_out <- list(); m_out <- list(); b_out <- list()
for (t in years) {
  d <- panel[panel$year == t, ]
  rownames(d) <- as.character(d$unit)
  fit <- glm(group ~ x1 + x2 + x3, data = d, family = binomial("logit"),
             control = glm.control(epsilon = 1e-14, maxit = 100))
  ps <- fitted(fit)
  ps_out[[length(ps_out) + 1]] <- data.frame(unit = d$unit, year = t, pscore = ps)
  # MatchIt 4.5.1 (the Debian bookworm package) has a bug in its fast path for a propensity
  # score vector (nn_matchC_vec: `abs()` on doubles resolves to integer abs, so the caliper is
  # ignored and the left neighbour always wins; kosukeimai/MatchIt issue #163, fixed in 4.5.4).
  # We therefore hand matchit() the same glm propensity score as a treated x control distance
  # matrix |ps_t - ps_c|, which runs its general nn_matchC routine. Equivalent settings:
  # m.order = "largest" -> rows sorted by decreasing score and m.order = "data";
  # std.caliper -> caliper * sd(ps of non-discarded units), std.caliper = FALSE;
  # discard -> MatchIt's own discard() rule on the score, passed as a logical vector.
  for (s in specs) {
    score <- if (isTRUE(s$linear)) predict(fit, type = "link") else ps
    o <- order(score, decreasing = TRUE)
    d2 <- d[o, ]; ps2 <- score[o]
    tr <- d2$group == 1
    D <- outer(ps2[tr], ps2[!tr], function(a, b) abs(a - b))
    dimnames(D) <- list(rownames(d2)[tr], rownames(d2)[!tr])
    disc <- MatchIt:::discard(d2$group, ps2, s$discard)
    args <- list(group ~ x1 + x2 + x3, data = d2, method = "nearest", distance = D,
                 ratio = s$ratio, replace = s$replace, discard = disc, m.order = "data")
    if (!is.null(s$caliper)) {
      args$caliper <- s$caliper * sd(ps2[!disc])
      args$std.caliper <- FALSE
    }
    m <- suppressWarnings(do.call(matchit, args))
    mm <- m$match.matrix
    for (i in seq_len(nrow(mm))) for (r in seq_len(ncol(mm))) {
      if (!is.na(mm[i, r])) {
        m_out[[length(m_out) + 1]] <- data.frame(
          spec = s$name, year = t, treated = as.integer(rownames(mm)[i]), rank = r,
          control = as.integer(mm[i, r]))
      }
    }
    sm <- summary(m, standardize = TRUE)
    for (v in c("x1", "x2", "x3")) {
      b_out[[length(b_out) + 1]] <- data.frame(
        spec = s$name, year = t, variable = v,
        smd_all = sm$sum.all[v, "Std. Mean Diff."],
        smd_matched = sm$sum.matched[v, "Std. Mean Diff."],
        mean_t_matched = sm$sum.matched[v, "Means Treated"],
        mean_c_matched = sm$sum.matched[v, "Means Control"])
    }
  }
}
# pooled cross-section variant (didstudy by_year = FALSE): one logit, one matching over all
# unit-years; k = 1 without replacement and k = 2 with replacement
pooled_out <- list()
d <- panel
rownames(d) <- paste(d$unit, d$year, sep = "_")
fit <- glm(group ~ x1 + x2 + x3, data = d, family = binomial("logit"),
           control = glm.control(epsilon = 1e-14, maxit = 100))
ps <- fitted(fit)
o <- order(ps, decreasing = TRUE)
d2 <- d[o, ]; ps2 <- ps[o]; tr <- d2$group == 1
D <- outer(ps2[tr], ps2[!tr], function(a, b) abs(a - b))
dimnames(D) <- list(rownames(d2)[tr], rownames(d2)[!tr])
for (s in list(list(name = "pooled_k1_norep", ratio = 1, replace = FALSE),
               list(name = "pooled_k2_rep", ratio = 2, replace = TRUE))) {
  m <- matchit(group ~ x1 + x2 + x3, data = d2, method = "nearest", distance = D,
               ratio = s$ratio, replace = s$replace, m.order = "data")
  mm <- m$match.matrix
  for (i in seq_len(nrow(mm))) for (r in seq_len(ncol(mm))) {
    if (!is.na(mm[i, r])) {
      tid <- as.integer(strsplit(rownames(mm)[i], "_")[[1]])
      cid <- as.integer(strsplit(mm[i, r], "_")[[1]])
      pooled_out[[length(pooled_out) + 1]] <- data.frame(
        spec = s$name, treated = tid[1], treated_year = tid[2], rank = r,
        control = cid[1], control_year = cid[2])
    }
  }
}
write.csv(do.call(rbind, pooled_out), file.path(here, "matches_pooled.csv"), row.names = FALSE)
write.csv(do.call(rbind, ps_out), file.path(here, "pscore.csv"), row.names = FALSE)
write.csv(do.call(rbind, m_out), file.path(here, "matches.csv"), row.names = FALSE)
b <- do.call(rbind, b_out)
for (col in c("smd_all", "smd_matched", "mean_t_matched", "mean_c_matched")) {
  b[[col]] <- sprintf("%.15g", b[[col]])
}
write.csv(b, file.path(here, "balance.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("MatchIt", as.character(packageVersion("MatchIt")))),
           file.path(here, "versions.txt"))
