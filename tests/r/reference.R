# Reference numbers from R's survey package (Lumley) for tests/test_analysis_r.py.
#
# Rscript reference.R data.csv scheme.csv design smin top level out.csv [population.csv weights.csv]
#   data.csv:       period, agency, psu, w, [cell], one column per item (NA = missing)
#   scheme.csv:     item, element ("" for items in no element), in column order
#   design:         srs | cluster
#   smin, top:      satisfied from this answer value; answers run from 1 to top
#   population.csv: period, agency, cell, Freq (post-stratification totals)
# Writes one line per (period, domain, key) that R can compute: estimate, se, CI, df, deff
# (fractions 0-1), mean score with its SE and logit-t CI on (m - 1) / (top - 1). Domains: "*" (the whole period's design) and each agency
# (subset(des, agency == a); with post-stratification, the agency's own post-stratified design,
# because svyciprop takes nrow() of a calibrated subset as the whole data set).
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")  # only "*" meets a lone PSU: the Python side does the same

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
scheme <- read.csv(args[2], stringsAsFactors = FALSE, na.strings = "")
design <- args[3]
smin <- as.numeric(args[4])
top <- as.numeric(args[5])
level <- as.numeric(args[6])
out <- args[7]
popfile <- if (length(args) >= 8) args[8] else ""
weightfile <- if (length(args) >= 9) args[9] else ""
pop <- if (nzchar(popfile)) read.csv(popfile) else NULL

items <- scheme$item
elements <- split(scheme$item[!is.na(scheme$element)], scheme$element[!is.na(scheme$element)])
elements <- elements[unique(scheme$element[!is.na(scheme$element)])]
for (k in items) {
  d[[paste0("ry_", k)]] <- ifelse(is.na(d[[k]]), 0, as.numeric(d[[k]] >= smin))
  d[[paste0("r_", k)]] <- as.numeric(!is.na(d[[k]]))
  d[[paste0("s_", k)]] <- ifelse(is.na(d[[k]]), 0, d[[k]])
}

make_design <- function(dd, popp) {
  des <- if (design == "srs") {
    svydesign(ids = ~1, strata = ~agency, weights = ~w, data = dd)
  } else {
    svydesign(ids = ~psu, strata = ~agency, weights = ~w, data = dd)
  }
  if (!is.null(popp)) {
    des <- suppressWarnings(postStratify(des, ~ agency + cell, population = popp, partial = TRUE))
  }
  des
}

fmt <- function(x) if (is.null(x) || length(x) == 0 || is.na(x)) "NA" else sprintf("%.17g", x)
lines <- c("period,agency,key,estimate,se,ci_low,ci_high,df,deff,mean_score,ms_se,ms_low,ms_high")
emit <- function(p, a, key, est, se, lo, hi, df, deff, ms) {
  lines <<- c(lines, paste(p, a, key, fmt(est), fmt(se), fmt(lo), fmt(hi), fmt(df), fmt(deff),
                           fmt(ms$est), fmt(ms$se), fmt(ms$lo), fmt(ms$hi), sep = ","))
}
# A mean score (an expression in svytotal or svymean coefficients) with its logit-t interval
# on (m - 1) / (top - 1).
mean_ci <- function(stat, expr, df) {
  con <- svycontrast(stat, list(M = expr))
  est <- as.numeric(coef(con))
  se <- as.numeric(SE(con))
  lo <- NA
  hi <- NA
  if (est > 1 + 1e-12 && est < top - 1e-12 && se > 0) {
    lg <- svycontrast(stat, list(L = bquote(log((.(expr) - 1) / (.(top) - .(expr))))))
    ci <- 1 + (top - 1) * plogis(confint(lg, level = level, df = df))
    lo <- ci[1]
    hi <- ci[2]
  }
  list(est = est, se = se, lo = lo, hi = hi)
}
weights_out <- NULL

domain_rows <- function(p, label, dd) {
  df <- degf(dd)
  vars <- model.frame(dd)
  inside <- weights(dd) > 0
  means <- list()
  for (k in items) {
    if (sum(vars[[paste0("r_", k)]][inside]) == 0) next
    m <- svymean(as.formula(paste0("~as.numeric(", k, " >= ", smin, ")")), dd, na.rm = TRUE,
                 deff = "replace")
    est <- unname(coef(m))
    lo <- NA
    hi <- NA
    if (est > 0 && est < 1) {
      ci <- svyciprop(as.formula(paste0("~I(", k, " >= ", smin, ")")), dd, method = "beta",
                      level = level, na.rm = TRUE)
      lo <- attr(ci, "ci")[1]
      hi <- attr(ci, "ci")[2]
      stopifnot(isTRUE(all.equal(as.vector(unclass(ci)), est)))
    }
    mk <- svymean(as.formula(paste0("~", k)), dd, na.rm = TRUE)
    means[[k]] <- mean_ci(mk, as.name(k), df)
    emit(p, label, k, est, unname(SE(m)), lo, hi, df, unname(deff(m)), means[[k]])
  }
  if (length(elements) == 0) return(invisible())
  all_items <- unlist(elements)
  tot <- svytotal(as.formula(paste("~", paste(c(paste0("ry_", all_items), paste0("s_", all_items),
                                                  paste0("r_", all_items)), collapse = "+"))), dd)
  answered <- function(k) coef(tot)[[paste0("r_", k)]] > 0
  # a_k of each composite over the criteria that have an answer, as analysis/composites.py.
  element_terms <- list()
  mean_terms <- list()
  weights_of <- list()
  for (e in names(elements)) {
    ks <- Filter(answered, elements[[e]])
    if (length(ks) == 0) next
    element_terms[[e]] <- paste0("(", paste0("ry_", ks, "/r_", ks, collapse = " + "), ")/",
                                 length(ks))
    mean_terms[[e]] <- paste0("(", paste0("s_", ks, "/r_", ks, collapse = " + "), ")/",
                              length(ks))
    weights_of[[e]] <- setNames(rep(1 / length(ks), length(ks)), ks)
  }
  if (length(element_terms) > 0) {
    service <- paste0("(", paste(element_terms, collapse = " + "), ")/", length(element_terms))
    composites <- c(list(service = service), element_terms)
    mean_composites <- c(list(service = paste0("(", paste(mean_terms, collapse = " + "), ")/",
                                               length(mean_terms))), mean_terms)
    weights_of$service <- unlist(lapply(names(element_terms), function(e) {
      weights_of[[e]] / length(element_terms)
    }))
    names(weights_of$service) <- unlist(lapply(names(element_terms), function(e) {
      names(weights_of[[e]])
    }))
  } else {
    composites <- list()
  }
  w <- weights(dd)
  for (key in names(composites)) {
    expr <- parse(text = composites[[key]])[[1]]
    con <- svycontrast(tot, list(I = expr))
    est <- as.numeric(coef(con))
    se <- as.numeric(SE(con))
    lo <- NA
    hi <- NA
    if (est > 0 && est < 1 && se > 0) {
      lg <- svycontrast(tot, list(L = bquote(log(.(expr) / (1 - .(expr))))))
      ci <- plogis(confint(lg, level = level, df = df))
      lo <- ci[1]
      hi <- ci[2]
    }
    # Design effect: svymean(deff = "replace") of the linearized score u = z W / w over the
    # respondents who answered at least one of the composite's criteria.
    a <- weights_of[[key]]
    z <- rep(0, nrow(vars))
    any_valid <- rep(FALSE, nrow(vars))
    members <- if (key == "service") all_items else elements[[key]]
    for (k in members) any_valid <- any_valid | vars[[paste0("r_", k)]] == 1
    for (k in names(a)) {
      pk <- coef(tot)[[paste0("ry_", k)]] / coef(tot)[[paste0("r_", k)]]
      wk <- coef(tot)[[paste0("r_", k)]]
      z <- z + a[[k]] * w * vars[[paste0("r_", k)]] * (vars[[paste0("ry_", k)]] - pk) / wk
    }
    keep <- any_valid & inside
    u <- ifelse(keep, z * sum(w[keep]) / ifelse(w > 0, w, 1), 0)
    dd2 <- update(dd, u_lin = u, keep_lin = as.numeric(keep))
    mu <- svymean(~u_lin, subset(dd2, keep_lin == 1), deff = "replace")
    stopifnot(isTRUE(all.equal(as.numeric(SE(mu)), as.numeric(se), tolerance = 1e-9)))
    ms <- mean_ci(tot, parse(text = mean_composites[[key]])[[1]], df)
    stopifnot(isTRUE(all.equal(ms$est, sum(sapply(names(a), function(k) a[[k]] * means[[k]]$est)))))
    emit(p, label, key, est, se, lo, hi, df, unname(deff(mu)), ms)
  }
}

for (p in sort(unique(d$period))) {
  dp <- d[d$period == p, ]
  popp <- if (is.null(pop)) NULL else pop[pop$period == p, c("agency", "cell", "Freq")]
  des <- make_design(dp, popp)
  if (!is.null(popp)) {
    weights_out <- rbind(weights_out, data.frame(row = dp$row, w = weights(des)))
  }
  domain_rows(p, "*", des)
  for (a in sort(unique(dp$agency))) {
    if (is.null(popp)) {
      dd <- subset(des, agency == a)
    } else {
      # svydesign() refuses a design of one PSU: that agency has no R reference.
      dd <- tryCatch(make_design(dp[dp$agency == a, ], popp[popp$agency == a, ]),
                     error = function(e) NULL)
      if (is.null(dd)) next
    }
    if (degf(dd) < 1) next  # one PSU: R stops ("Stratum has only one PSU"); Python gives no SE
    domain_rows(p, a, dd)
  }
}
writeLines(lines, out)
if (nzchar(weightfile)) write.csv(weights_out, weightfile, row.names = FALSE)
