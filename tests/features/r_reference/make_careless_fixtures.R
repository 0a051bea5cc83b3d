# Reference values of the R package careless 1.2.x for fraudscore's tests.
#
# Run from the repository root:  Rscript tests/features/r_reference/make_careless_fixtures.R
# Writes tests/features/r_reference/careless_fixtures.json (committed; CI has no R and only
# reads the JSON). Needs R with the Debian packages r-cran-psych and r-cran-jsonlite.
#
# The careless functions below are transcribed from careless 1.2.1 as published on CRAN
# (mirror https://github.com/cran/careless, commit f6eef9043ecf75308d793c587df9442a2cd90cd0;
# upstream https://github.com/ryentes/careless), files R/longstring.R, R/irv.R, R/mahad.R,
# R/evenodd.R, R/psychsyn.R, R/psychant.R, keeping only the computation (plots, flags and
# diagnostics columns dropped). careless is
#   Copyright (c) Richard Yentes, Francisco Wilhelm, released under the MIT licence
#   (see the LICENSE file of the careless package).
# Notes on the transcription:
# - irv: the 1.2.1 file itself was not available to us; the function below is the 1.1.3
#   source (same repository) with the NA handling 1.2.1 added (NEWS: "IRV now handles NA
#   values"; documented usage irv(x, na.rm = TRUE, split = FALSE, num.split = 3); upstream
#   tests/testthat/test-irv.R checks sd over the non-missing items and NA for an all-NA row).
# - mahad calls psych::outlier exactly as careless does (psych from Debian, version recorded).
# - psychsyn is run with resample_na = FALSE: careless' default resampling randomly swaps the
#   two items of each pair for persons whose score is NA, which no deterministic port can match.

suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})

# ---- careless 1.2.1 -------------------------------------------------------------------------

longstring <- function(x, avg=FALSE) {
  rle_string <- function(x) {
    rle_list <- rle(x)
    longstr <- max(rle_list$lengths)
    avgstr <- mean(rle_list$lengths)
    return(cbind(longstr, avgstr))
  }
  output <- apply(x, 1, rle_string)
  output <- data.frame(t(output))
  colnames(output) <- (c('longstr','avgstr'))
  if(avg == TRUE) {
    return(output)
  } else {
    return(output[,'longstr'])
  }
}

irv <- function(x, na.rm = TRUE, split = FALSE, num.split = 3) {
  out <- apply(x, 1, stats::sd, na.rm = na.rm)
  if(split == TRUE) {
    chunk <- function(x,n) split(x, cut(seq_along(x), n, labels = FALSE))
    split_x <- apply(x, 1, chunk, num.split)
    out_split <- t(replicate(nrow(x), rep(NA, num.split)))
    colnames(out_split) <- paste0("irv",1:num.split)
    for(k in 1:nrow(out_split)) {
      split_x_single <- split_x[[k]]
      out_split[k,] <- unlist(lapply(split_x_single, stats::sd, na.rm = na.rm), use.names = FALSE)
    }
    out_split <- data.frame(out, out_split)
    colnames(out_split)[1] <- "irvTotal"
    return(out_split)} else {
      return(out)
    }
}

mahad <- function(x, plot = TRUE, flag = FALSE, confidence = 0.99, na.rm = TRUE) {
  if(na.rm == FALSE) {
    if(any(is.na(x)) == TRUE) {stop("Some values are NA. Mahalanobis distance was not computed.
                                      Use na.rm = TRUE to use available cases.", call. = FALSE)}
    }
  complete.na <- apply(x, 1, function(y) { all(is.na(y)) } )
  if(any(complete.na)) {
    warning("Some cases contain only NA values. The Mahalanobis distance will be calculated using available cases.",
            call. = FALSE) }
  x_filtered <- x[!complete.na,]
  maha_data <- as.numeric(psych::outlier(x_filtered, plot, bad = 0, na.rm = na.rm))
  d_sq <- rep_len(NA, nrow(x_filtered))
  d_sq[!complete.na] <- maha_data
  return(d_sq)
}

evenodd <- function(x, factors, diag = FALSE) {
  if(length(factors) == 1) stop("single factor")
  if(sum(factors) > ncol(x)) stop("too many items")
  eo_vals <- vector("list", nrow(x))
  for(i in 1:nrow(x)) {
    f <- matrix(rep(NA, 2*length(factors)), length(factors), ncol=2)
    start <- 1
    for(j in 1:length(factors)) {
      if(j>1) start <- start + (factors[j-1])
      end <- (factors[j]-1) + start
      s <- x[i,start:end]
      ind <- seq(1:length(colnames(s)))
      e_ind <- which(ind %% 2 == 0)
      o_ind <- which(ind %% 2 == 1)
      f[j,1] <- mean(t(s[e_ind]), na.rm = TRUE)
      f[j,2] <- mean(t(s[o_ind]), na.rm = TRUE)
    }
    eo_vals[[i]] <- f
  }
  eo_missing <- lapply(eo_vals, function(i) sum(!is.na(apply(i, 1, sum))))
  eo_cor <- sapply(eo_vals, function(f) {
    val <- suppressWarnings(stats::cor(f[, 1], f[, 2], use = "pairwise.complete.obs"))
    val <- (2 * val) / (1 + val)
    if (!is.na(val) && val < -1) val <- -1
    return(val)
  })
  eo_cor = 0 - eo_cor
  if(diag == FALSE) {return(eo_cor)}
  else {return(data.frame(eo_cor, eo_missing))}
}

psychsyn <- function(x, critval=.60, anto=FALSE, diag=FALSE, resample_na=TRUE) {
  x <- as.matrix(x)
  item_pairs <- get_item_pairs(x, critval, anto)
  synonyms <- apply(x,1,syn_for_one, item_pairs, resample_na)
  synonyms_df <- as.data.frame(aperm(synonyms))
  colnames(synonyms_df) <- c("numPairs", "cor")
  if(diag==TRUE) { return(synonyms_df) }
  else { return(synonyms_df$cor) }
}

get_item_pairs <- function(x, critval=.60, anto=FALSE) {
  critval <- abs(critval)
  correlations <- suppressWarnings(stats::cor(x, use = "pairwise.complete.obs"))
  correlations[upper.tri(correlations, diag=TRUE)] <- NA
  correlations <- as.data.frame(as.table(correlations))
  if(anto==FALSE) {
    item_pair_names <- correlations[which(correlations$Freq > critval, arr.ind=TRUE),c(1,2)]
    if(nrow(item_pair_names)==0) stop("No Psychometric Synonyms found.")
  }
  else if(anto==TRUE) {
    item_pair_names <- correlations[which(correlations$Freq < -critval, arr.ind=TRUE),c(1,2)]
    if(nrow(item_pair_names)==0) stop("No Psychometric Antonyms found.")
  }
  return(item_pair_names)
}

syn_for_one <- function(x, item_pairs, resample_na) {
  item_pairs_omit_na <- which(!(is.na(x[item_pairs[,1]]) | is.na(x[item_pairs[,2]])))
  sum_item_pairs <- length(item_pairs_omit_na)
  if(sum_item_pairs > 2) {
    itemvalues <- cbind(as.numeric(x[as.numeric(item_pairs[,1])]), as.numeric(x[as.numeric(item_pairs[,2])]))
    psychsyn_cor <- function(x) {
      suppressWarnings(stats::cor(x, use = "pairwise.complete.obs", method = "pearson")[1,2])
    }
    if(resample_na == TRUE) {
      counter <- 1
      synvalue <- psychsyn_cor(itemvalues)
      while(counter <= 10 & is.na(synvalue)) {
        itemvalues <- t(apply(itemvalues, 1, sample, 2, replace = F))
        synvalue <- psychsyn_cor(itemvalues)
        counter = counter+1
      }
    } else {
      synvalue <- psychsyn_cor(itemvalues)
      }
  } else {synvalue <- NA}
  return(c(sum_item_pairs, synvalue))
}

psychant <- function(x, critval= -.60, diag=FALSE) {
  psychsyn(x, critval, anto = TRUE, diag)
}

# ---- fixed input matrices -------------------------------------------------------------------

# Hand-made: ties, NA inside runs, a constant row, an all-NA row, a row with one answer.
hand <- matrix(c(
  3, 3, 3, 3, 3, 3, 3, 3,
  1, 2, 3, 4, 5, 1, 2, 3,
  1, 1, 1, 5, 5, 5, 2, 2,
  NA, 2, 2, NA, 4, 4, 4, 1,
  5, 4, 5, 4, 1, 2, 1, 2,
  NA, NA, NA, NA, NA, NA, NA, NA,
  NA, NA, 4, NA, NA, NA, NA, NA,
  2, 2, 3, 3, 3, NA, NA, 3,
  4, 5, 4, 5, 2, 1, 2, 2,
  1, 3, 5, 3, 1, 3, 5, 3
), ncol = 8, byrow = TRUE)

# Latent-trait Likert data: four scales of five items; the second half of each scale is
# reverse-keyed, so the data hold synonym and antonym pairs. Then NAs, and careless rows.
set.seed(20261125)
likert_block <- function(n, n_scales, per_scale, points, na_rate) {
  traits <- matrix(rnorm(n * n_scales), n, n_scales)
  x <- matrix(NA_real_, n, n_scales * per_scale)
  for (s in 1:n_scales) for (k in 1:per_scale) {
    j <- (s - 1) * per_scale + k
    sign <- if (k > per_scale / 2) -1 else 1
    raw <- (points + 1) / 2 + sign * 1.1 * traits[, s] + rnorm(n, sd = 0.7) + (k - 3) * 0.3
    x[, j] <- pmin(points, pmax(1, round(raw)))
  }
  x[matrix(runif(length(x)) < na_rate, n)] <- NA
  x
}
latent <- likert_block(60, 4, 5, 5, 0.06)
latent[5, ] <- 3                                   # straight-liner
latent[9, ] <- rep(c(1, 2, 3, 4, 5), 4)            # pattern
latent[13, ] <- NA                                 # skipped everything
latent[17, ] <- c(4, rep(NA, 19))                  # one answer
latent[21, ] <- sample(1:5, 20, replace = TRUE)    # random

wide <- likert_block(120, 5, 6, 7, 0.03)            # 7-point, five scales of six, few NAs
complete <- likert_block(80, 3, 4, 5, 0.0)          # no NA at all

cases <- list(
  hand = list(x = hand, factors = c(4, 4)),
  latent = list(x = latent, factors = c(5, 5, 5, 5)),
  wide = list(x = wide, factors = c(6, 6, 6, 6, 6)),
  complete = list(x = complete, factors = c(4, 4, 4))
)

na_json <- function(v) lapply(as.numeric(v), function(e) if (is.na(e)) NULL else e)
matrix_json <- function(m) lapply(seq_len(nrow(m)), function(i) na_json(m[i, ]))
try_null <- function(expr) tryCatch(expr, error = function(e) NULL)

out <- list(
  meta = list(
    careless = "1.2.1 (transcribed, see header)",
    psych = as.character(packageVersion("psych")),
    r = R.version.string
  ),
  cases = list()
)

for (name in names(cases)) {
  x <- cases[[name]]$x
  factors <- cases[[name]]$factors
  ls <- longstring(x, avg = TRUE)
  split3 <- irv(x, split = TRUE, num.split = 3)
  split4 <- irv(x, split = TRUE, num.split = 4)
  syn <- try_null(psychsyn(x, .60, diag = TRUE, resample_na = FALSE))
  ant <- try_null(psychsyn(x, .60, anto = TRUE, diag = TRUE, resample_na = FALSE))
  syn_pairs <- try_null(get_item_pairs(x, .60, FALSE))
  ant_pairs <- try_null(get_item_pairs(x, .60, TRUE))
  pair_matrix <- function(p) if (is.null(p)) list() else
    lapply(seq_len(nrow(p)), function(i) c(as.integer(p[i, 1]) - 1L, as.integer(p[i, 2]) - 1L))
  out$cases[[name]] <- list(
    x = matrix_json(x),
    factors = factors,
    longstr = na_json(ls$longstr),
    avgstr = na_json(ls$avgstr),
    irv = na_json(irv(x)),
    irv_split3 = matrix_json(as.matrix(split3[, -1])),
    irv_split4 = matrix_json(as.matrix(split4[, -1])),
    mahad = na_json(suppressWarnings(mahad(x, plot = FALSE))),
    evenodd = na_json(evenodd(as.data.frame(x), factors)),
    psychsyn = if (is.null(syn)) NULL else na_json(syn$cor),
    psychsyn_pairs = if (is.null(syn)) NULL else na_json(syn$numPairs),
    psychant = if (is.null(ant)) NULL else na_json(ant$cor),
    psychant_pairs = if (is.null(ant)) NULL else na_json(ant$numPairs),
    synonym_item_pairs = pair_matrix(syn_pairs),
    antonym_item_pairs = pair_matrix(ant_pairs)
  )
}

# cut() chunk labels behind split IRV, for a grid of item counts and chunk counts.
cut_labels <- list()
for (p in 2:40) for (k in 2:min(p, 9)) {
  cut_labels[[length(cut_labels) + 1]] <- list(
    n_items = p, n_chunks = k, labels = as.integer(cut(seq_len(p), k, labels = FALSE)) - 1L)
}
out$cut_labels <- cut_labels

path <- file.path("tests", "features", "r_reference", "careless_fixtures.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = FALSE), path)
cat("wrote", path, "\n")
