/* commands.h -- the entry points of the subcommands, one per cmd/NAME.c, dispatched by cmd/main.c.
 * Each parses its own options (getopt_long), prints its errors with the `hyenadna CMD:` prefix and
 * returns the exit status (0 success, 1 usage or bad input, 2 model-file or resource failure). */
#ifndef HD_CMD_COMMANDS_H
#define HD_CMD_COMMANDS_H

int main_info(int argc, char **argv);
int main_forward(int argc, char **argv);
int main_bench(int argc, char **argv);
int main_convert(int argc, char **argv);
int main_classify(int argc, char **argv);
int main_embed(int argc, char **argv);
int main_score_variants(int argc, char **argv);
int main_pull(int argc, char **argv);
int main_models(int argc, char **argv);
int main_generate(int argc, char **argv);
int main_plot(int argc, char **argv);
int main_track(int argc, char **argv);

#endif
