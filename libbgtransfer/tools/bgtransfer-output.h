/* bgtransfer-output.h: how the command-line client shows transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stdio.h>

#include <bgtransfer.h>

G_BEGIN_DECLS

/* Calls a function at most once per interval; a call that comes too soon
 * is deferred to the end of the interval, so the last state always shows. */
typedef void (*CliThrottleFunc) (gpointer user_data);

typedef struct
{
  gint64 interval_us;
  gint64 last_us;
  guint timeout_id;
  CliThrottleFunc func;
  gpointer user_data;
} CliThrottle;

void cli_throttle_init (CliThrottle *self, guint interval_ms, CliThrottleFunc func,
                        gpointer user_data);
void cli_throttle_poke (CliThrottle *self);
void cli_throttle_fire (CliThrottle *self);
void cli_throttle_clear (CliThrottle *self);

/* Formatting */
const char *cli_enum_nick (GType type, int value);
glong cli_display_width (const char *str);
glong cli_terminal_columns (int fd);
glong cli_terminal_rows (int fd);
const char *cli_status_label (BgtStatus status);
char *cli_format_duration (guint64 seconds);
char *cli_format_rate (guint64 rate);
void cli_transfer_get_progress (BgtTransfer *transfer, gint64 *bytes, gint64 *total);
char *cli_format_progress (BgtTransfer *transfer);
char *cli_format_state (BgtTransfer *transfer);
char *cli_format_time (gint64 usec);
const char *cli_transfer_get_location (BgtTransfer *transfer);

/* JSON */
void cli_json_append_string (GString *out, const char *str);
char *cli_transfer_to_json (BgtTransfer *transfer, const char *event, gboolean with_headers);

/* Whole outputs */
void cli_print_transfer_list (GListModel *transfers);
void cli_print_transfer_details (BgtTransfer *transfer);
char *cli_format_table (GPtrArray *transfers, glong columns, glong max_lines);

/* A progress report on stderr while waiting for a transfer */
typedef enum
{
  CLI_PROGRESS_NONE,
  CLI_PROGRESS_BAR,   /* a line redrawn in place, on a terminal */
  CLI_PROGRESS_LINES, /* a line per status change and at most one per second */
} CliProgressMode;

typedef struct _CliProgress CliProgress;

CliProgress *cli_progress_new (BgtTransfer *transfer, CliProgressMode mode);
void cli_progress_end (CliProgress *self);
void cli_progress_free (CliProgress *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliProgress, cli_progress_free)

G_END_DECLS
