/* bgtransfer-output.c: how the command-line client shows transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "bgtransfer-output.h"

/* ---- Throttle ----------------------------------------------------------- */

void
cli_throttle_init (CliThrottle *self, guint interval_ms, CliThrottleFunc func, gpointer user_data)
{
  self->interval_us = (gint64) interval_ms * 1000;
  self->last_us = 0;
  self->timeout_id = 0;
  self->func = func;
  self->user_data = user_data;
}

static gboolean
on_throttle_timeout (gpointer data)
{
  CliThrottle *self = data;

  self->timeout_id = 0;
  cli_throttle_fire (self);
  return G_SOURCE_REMOVE;
}

/* Calls the function now if the interval has passed, else once at its end */
void
cli_throttle_poke (CliThrottle *self)
{
  gint64 wait_us;

  if (self->timeout_id != 0)
    return; /* the deferred call will show the latest state */
  wait_us = self->last_us + self->interval_us - g_get_monotonic_time ();
  if (self->last_us == 0 || wait_us <= 0)
    cli_throttle_fire (self);
  else
    self->timeout_id = g_timeout_add ((guint) ((wait_us + 999) / 1000), on_throttle_timeout, self);
}

/* Calls the function now, whatever the interval */
void
cli_throttle_fire (CliThrottle *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  self->last_us = g_get_monotonic_time ();
  self->func (self->user_data);
}

void
cli_throttle_clear (CliThrottle *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
}

/* ---- Formatting --------------------------------------------------------- */

const char *
cli_enum_nick (GType type, int value)
{
  /* The class stays referenced: its nicks live as long as the program */
  GEnumClass *klass = g_type_class_ref (type);
  GEnumValue *enum_value = g_enum_get_value (klass, value);

  return enum_value != NULL ? enum_value->value_nick : "";
}

static const char *
or_empty (const char *str)
{
  return str != NULL ? str : "";
}

static const char *
or_dash (const char *str)
{
  if (str != NULL && *str != '\0')
    return str;
  /* TRANSLATORS: shown for a value that is not set */
  return g_get_charset (NULL) ? _ ("–") : "-";
}

/* g_format_size() with a plain space where the locale has no no-break one */
static char *
format_size (guint64 size)
{
  char *text = g_format_size (size);
  char *nbsp;

  if (g_get_charset (NULL))
    return text;
  while ((nbsp = strstr (text, "\u00a0")) != NULL)
    {
      nbsp[0] = ' ';
      memmove (nbsp + 1, nbsp + 2, strlen (nbsp + 2) + 1);
    }
  return text;
}

/* The columns @str takes on a terminal: two for a wide (CJK) character */
glong
cli_display_width (const char *str)
{
  glong width = 0;

  for (const char *p = str; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}

/* A status for people: the bus string in English, translated elsewhere */
const char *
cli_status_label (BgtStatus status)
{
  switch (status)
    {
      case BGT_STATUS_IDLE:
        /* TRANSLATORS: a transfer status: created, or waiting in the queue */
        return C_ ("status", "idle");
      case BGT_STATUS_RUNNING:
        return C_ ("status", "running");
      case BGT_STATUS_PAUSED_BY_APPLICATION:
        return C_ ("status", "paused-by-application");
      case BGT_STATUS_PAUSED_COSTED_NETWORK:
        /* TRANSLATORS: a transfer status: waiting for a network its cost policy allows */
        return C_ ("status", "paused-costed-network");
      case BGT_STATUS_PAUSED_NO_NETWORK:
        return C_ ("status", "paused-no-network");
      case BGT_STATUS_PAUSED_SYSTEM_POLICY:
        /* TRANSLATORS: a transfer status: held back by the power policy */
        return C_ ("status", "paused-system-policy");
      case BGT_STATUS_PAUSED_RECOVERABLE_ERROR:
        /* TRANSLATORS: a transfer status: waiting to retry after an error */
        return C_ ("status", "paused-recoverable-error");
      case BGT_STATUS_COMPLETED:
        return C_ ("status", "completed");
      case BGT_STATUS_CANCELED:
        return C_ ("status", "canceled");
      case BGT_STATUS_ERROR:
        return C_ ("status", "error");
      default:
        return bgt_status_to_string (status);
    }
}

/* "0:42", "12:05", "1:02:03": hours, minutes, seconds, as clocks count */
char *
cli_format_duration (guint64 seconds)
{
  if (seconds >= 100 * 3600)
    /* TRANSLATORS: a time left of more than 99 hours */
    return g_strdup (_ (">99h"));
  if (seconds >= 3600)
    return g_strdup_printf ("%u:%02u:%02u", (guint) (seconds / 3600), (guint) (seconds / 60 % 60),
                            (guint) (seconds % 60));
  return g_strdup_printf ("%u:%02u", (guint) (seconds / 60), (guint) (seconds % 60));
}

/* Bytes moved and bytes to move (-1 when unknown): received for a
 * download, sent for an upload */
void
cli_transfer_get_progress (BgtTransfer *transfer, gint64 *bytes, gint64 *total)
{
  if (bgt_transfer_get_kind (transfer) == BGT_TRANSFER_KIND_UPLOAD)
    {
      *bytes = bgt_transfer_get_bytes_sent (transfer);
      *total = bgt_transfer_get_total_bytes_to_send (transfer);
    }
  else
    {
      *bytes = bgt_transfer_get_bytes_received (transfer);
      *total = bgt_transfer_get_total_bytes_to_receive (transfer);
    }
}

const char *
cli_transfer_get_location (BgtTransfer *transfer)
{
  if (BGT_IS_UPLOAD (transfer))
    return bgt_upload_get_source (BGT_UPLOAD (transfer));
  return bgt_download_get_destination (BGT_DOWNLOAD (transfer));
}

/* "12.3 MB/50.0 MB", "12.3 MB" when the size is unknown, "–" before any */
char *
cli_format_progress (BgtTransfer *transfer)
{
  gint64 bytes, total;
  g_autofree char *done = NULL;
  g_autofree char *size = NULL;

  cli_transfer_get_progress (transfer, &bytes, &total);
  done = format_size (bytes);
  if (total >= 0)
    {
      size = format_size (total);
      /* TRANSLATORS: bytes done/bytes in all, such as "12.3 MB/50.0 MB" */
      return g_strdup_printf (_ ("%s/%s"), done, size);
    }
  if (bytes > 0)
    return g_steal_pointer (&done);
  return g_strdup (or_dash (NULL));
}

/* The library's fraction, as a whole percentage; -1 when the size is unknown */
static int
percentage (BgtTransfer *transfer)
{
  gint64 bytes, total;

  cli_transfer_get_progress (transfer, &bytes, &total);
  if (total < 0)
    return -1;
  if (total == 0)
    return 100;
  return (int) (bgt_transfer_get_progress (transfer) * 100.0);
}

char *
cli_format_rate (guint64 rate)
{
  g_autofree char *size = format_size (rate);

  /* TRANSLATORS: a transfer rate, such as "2.0 MB/s" */
  return g_strdup_printf (_ ("%s/s"), size);
}

/* "ETA 0:42" while running with a known size and rate, else NULL */
static char *
format_eta (BgtTransfer *transfer)
{
  gint64 bytes, total, rate = bgt_transfer_get_rate (transfer);
  g_autofree char *duration = NULL;

  cli_transfer_get_progress (transfer, &bytes, &total);
  if (bgt_transfer_get_status (transfer) != BGT_STATUS_RUNNING || rate <= 0 || total < 0
      || bytes >= total)
    return NULL;
  duration = cli_format_duration ((total - bytes + rate - 1) / rate);
  /* TRANSLATORS: the estimated time left, such as "ETA 1:05" (minutes:seconds) */
  return g_strdup_printf (_ ("ETA %s"), duration);
}

/* The pieces of a progress report, most important first; NULL ends it.
 * " 24%", "12.3 MB/50.0 MB", "2.0 MB/s", "ETA 0:23", or the status of a
 * transfer that is not running when @with_status. */
static GStrv
progress_pieces (BgtTransfer *transfer, gboolean with_status)
{
  g_autoptr (GStrvBuilder) pieces = g_strv_builder_new ();
  BgtStatus status = bgt_transfer_get_status (transfer);
  g_autofree char *progress = cli_format_progress (transfer);
  g_autofree char *eta = format_eta (transfer);
  int percent = percentage (transfer);

  if (percent >= 0)
    {
      g_autofree char *text = g_strdup_printf ("%3d%%", percent);

      g_strv_builder_add (pieces, text);
    }
  g_strv_builder_add (pieces, progress);
  if (status == BGT_STATUS_RUNNING && bgt_transfer_get_rate (transfer) > 0)
    {
      g_autofree char *rate = cli_format_rate (bgt_transfer_get_rate (transfer));

      g_strv_builder_add (pieces, rate);
    }
  else if (with_status && status != BGT_STATUS_RUNNING)
    g_strv_builder_add (pieces, cli_status_label (status));
  if (eta != NULL)
    g_strv_builder_add (pieces, eta);
  return g_strv_builder_end (pieces);
}

/* The pieces that fit in @columns, two spaces apart (the percentage, one) */
static void
append_pieces (GString *out, GStrv pieces, glong columns)
{
  glong width = 0;

  for (guint i = 0; pieces[i] != NULL; i++)
    {
      const char *sep = i == 0 ? "" : (g_str_has_suffix (pieces[i - 1], "%") ? " " : "  ");
      glong piece = (glong) strlen (sep) + cli_display_width (pieces[i]);

      if (columns >= 0 && width + piece > columns)
        break;
      g_string_append (out, sep);
      g_string_append (out, pieces[i]);
      width += piece;
    }
}

/* " 24% 12.3 MB/50.0 MB  2.0 MB/s  ETA 0:23" */
static void
append_progress (GString *out, BgtTransfer *transfer, gboolean with_status)
{
  g_auto (GStrv) pieces = progress_pieces (transfer, with_status);

  append_pieces (out, pieces, -1);
}

/* One line for the monitor: "running  24% 12.3 MB/50.0 MB  2.0 MB/s" */
char *
cli_format_state (BgtTransfer *transfer)
{
  GString *out = g_string_new (cli_status_label (bgt_transfer_get_status (transfer)));
  BgtErrorStatus error_status = bgt_transfer_get_error_status (transfer);

  g_string_append_c (out, ' ');
  append_progress (out, transfer, FALSE);
  if (error_status != BGT_ERROR_STATUS_NONE)
    g_string_append_printf (out, "  %s (%s)", bgt_error_status_get_description (error_status),
                            bgt_error_status_to_string (error_status));
  return g_string_free (out, FALSE);
}

/* ISO 8601 in local time, or NULL for 0 */
char *
cli_format_time (gint64 usec)
{
  g_autoptr (GDateTime) time = NULL;

  if (usec <= 0)
    return NULL;
  time = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  return time != NULL ? g_date_time_format_iso8601 (time) : NULL;
}

/* ---- JSON --------------------------------------------------------------- */

void
cli_json_append_string (GString *out, const char *str)
{
  g_autofree char *valid = g_utf8_make_valid (or_empty (str), -1);

  g_string_append_c (out, '"');
  for (const char *p = valid; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      switch (c)
        {
          case '"':
            g_string_append (out, "\\\"");
            break;
          case '\\':
            g_string_append (out, "\\\\");
            break;
          case '\n':
            g_string_append (out, "\\n");
            break;
          case '\r':
            g_string_append (out, "\\r");
            break;
          case '\t':
            g_string_append (out, "\\t");
            break;
          default:
            if (c < 0x20 || c == 0x7f)
              g_string_append_printf (out, "\\u%04x", c);
            else
              g_string_append_c (out, (char) c);
            break;
        }
    }
  g_string_append_c (out, '"');
}

static void
json_key (GString *out, const char *key)
{
  if (out->len > 0 && out->str[out->len - 1] != '{')
    g_string_append_c (out, ',');
  cli_json_append_string (out, key);
  g_string_append_c (out, ':');
}

static void
json_string (GString *out, const char *key, const char *value)
{
  json_key (out, key);
  cli_json_append_string (out, value);
}

static void
json_string_or_null (GString *out, const char *key, const char *value)
{
  json_key (out, key);
  if (value != NULL)
    cli_json_append_string (out, value);
  else
    g_string_append (out, "null");
}

static void
json_uint (GString *out, const char *key, guint64 value)
{
  json_key (out, key);
  g_string_append_printf (out, "%" G_GUINT64_FORMAT, value);
}

static void
json_time (GString *out, const char *key, gint64 usec)
{
  g_autofree char *time = cli_format_time (usec);

  json_string_or_null (out, key, time);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The names of a hash table of strings, sorted */
static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_strings);
  return keys;
}

/* The transfer as one JSON object; @event, when given, comes first */
char *
cli_transfer_to_json (BgtTransfer *transfer, const char *event, gboolean with_headers)
{
  GString *out = g_string_new ("{");
  gboolean upload = bgt_transfer_get_kind (transfer) == BGT_TRANSFER_KIND_UPLOAD;
  gint64 bytes, total;

  cli_transfer_get_progress (transfer, &bytes, &total);
  if (event != NULL)
    json_string (out, "event", event);
  json_string (out, "id", bgt_transfer_get_id (transfer));
  json_string (out, "kind",
               cli_enum_nick (BGT_TYPE_TRANSFER_KIND, bgt_transfer_get_kind (transfer)));
  json_string (out, "status", bgt_status_to_string (bgt_transfer_get_status (transfer)));
  json_string (out, "uri", bgt_transfer_get_uri (transfer));
  json_string (out, "actual-uri", bgt_transfer_get_actual_uri (transfer));
  json_string (out, upload ? "source" : "destination", cli_transfer_get_location (transfer));
  json_string (out, "method", bgt_transfer_get_method (transfer));
  json_uint (out, "bytes", bytes);
  json_key (out, "total");
  if (total < 0)
    g_string_append (out, "null");
  else
    g_string_append_printf (out, "%" G_GINT64_FORMAT, total);
  json_uint (out, "rate", bgt_transfer_get_rate (transfer));
  json_uint (out, "http-status", bgt_transfer_get_http_status (transfer));
  json_string (out, "error-status",
               bgt_error_status_to_string (bgt_transfer_get_error_status (transfer)));
  json_string (out, "error-message", bgt_transfer_get_error_message (transfer));
  json_string (out, "priority",
               cli_enum_nick (BGT_TYPE_PRIORITY, bgt_transfer_get_priority (transfer)));
  json_string (out, "cost-policy",
               cli_enum_nick (BGT_TYPE_COST_POLICY, bgt_transfer_get_cost_policy (transfer)));
  json_string (out, "group", bgt_transfer_get_group (transfer));
  json_string (out, "tag", bgt_transfer_get_tag (transfer));
  json_uint (out, "attempts", bgt_transfer_get_attempts (transfer));
  json_key (out, "resumable");
  g_string_append (out, bgt_transfer_get_is_resumable (transfer) ? "true" : "false");
  json_time (out, "created", bgt_transfer_get_created_time (transfer));
  json_time (out, "completed", bgt_transfer_get_completed_time (transfer));
  if (with_headers)
    {
      g_autoptr (GHashTable) headers = bgt_transfer_dup_response_headers (transfer);
      g_autoptr (GPtrArray) names = sorted_keys (headers);

      json_key (out, "response-headers");
      g_string_append_c (out, '{');
      for (guint i = 0; i < names->len; i++)
        {
          const char *name = g_ptr_array_index (names, i);

          json_string (out, name, g_hash_table_lookup (headers, name));
        }
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* ---- Whole outputs ------------------------------------------------------ */

/* Appends @str padded with spaces to @width columns */
static void
append_padded (GString *out, const char *str, glong width)
{
  g_string_append (out, str);
  for (glong n = cli_display_width (str); n < width; n++)
    g_string_append_c (out, ' ');
}

void
cli_print_transfer_list (GListModel *transfers)
{
  guint n = g_list_model_get_n_items (transfers);
  g_autoptr (GPtrArray) progress = g_ptr_array_new_with_free_func (g_free);
  /* TRANSLATORS: column headings of "bgtransfer list" */
  const char *headings[] = { N_ ("ID"), N_ ("STATUS"), N_ ("PROGRESS"), N_ ("URI") };
  glong widths[3];
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint c = 0; c < G_N_ELEMENTS (widths); c++)
    widths[c] = cli_display_width (_ (headings[c]));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (BgtTransfer) transfer = g_list_model_get_item (transfers, i);
      char *text = cli_format_progress (transfer);

      widths[0] = MAX (widths[0], cli_display_width (or_empty (bgt_transfer_get_id (transfer))));
      widths[1] = MAX (widths[1],
                       cli_display_width (cli_status_label (bgt_transfer_get_status (transfer))));
      widths[2] = MAX (widths[2], cli_display_width (text));
      g_ptr_array_add (progress, text);
    }

  for (guint c = 0; c < G_N_ELEMENTS (widths); c++)
    {
      append_padded (out, _ (headings[c]), widths[c]);
      g_string_append (out, "  ");
    }
  g_string_append_printf (out, "%s\n", _ (headings[3]));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (BgtTransfer) transfer = g_list_model_get_item (transfers, i);

      append_padded (out, or_empty (bgt_transfer_get_id (transfer)), widths[0]);
      g_string_append (out, "  ");
      append_padded (out, cli_status_label (bgt_transfer_get_status (transfer)), widths[1]);
      g_string_append (out, "  ");
      append_padded (out, g_ptr_array_index (progress, i), widths[2]);
      g_string_append_printf (out, "  %s\n", or_empty (bgt_transfer_get_uri (transfer)));
    }
  g_print ("%s", out->str);
}

/* @str cut to @width columns, with "…" when something was cut */
static void
append_fitted (GString *out, const char *str, glong width)
{
  glong used = 0;

  if (cli_display_width (str) <= width)
    {
      append_padded (out, str, width);
      return;
    }
  for (const char *p = str; *p != '\0' && width > 0; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      glong w = g_unichar_iszerowidth (c) ? 0 : (g_unichar_iswide (c) ? 2 : 1);

      if (used + w > width - 1)
        break;
      g_string_append_unichar (out, c);
      used += w;
    }
  if (width > 0)
    {
      g_string_append (out, "…");
      used++;
    }
  for (; used < width; used++)
    g_string_append_c (out, ' ');
}

/* What the monitor's table calls a transfer: its file's name, else its URI */
static char *
short_name (BgtTransfer *transfer)
{
  const char *location = cli_transfer_get_location (transfer);

  if (location != NULL && *location != '\0')
    return g_path_get_basename (location);
  return g_strdup (or_empty (bgt_transfer_get_uri (transfer)));
}

/* The monitor's table: a heading, then a line per transfer, each fitted to
 * @columns; at most @max_lines lines in all */
char *
cli_format_table (GPtrArray *transfers, glong columns, glong max_lines)
{
  /* TRANSLATORS: column headings of "bgtransfer monitor" on a terminal */
  const char *headings[] = { N_ ("ID"), N_ ("STATUS"), N_ ("PROGRESS"), N_ ("NAME") };
  g_autoptr (GPtrArray) progress = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) out = g_string_new (NULL);
  glong widths[3], name_width;
  guint shown = transfers->len;

  if (max_lines >= 2 && transfers->len + 1 > (guint) max_lines)
    shown = (guint) max_lines - 2; /* and a line that says how many more */
  for (guint c = 0; c < G_N_ELEMENTS (widths); c++)
    widths[c] = cli_display_width (_ (headings[c]));
  for (guint i = 0; i < shown; i++)
    {
      BgtTransfer *transfer = g_ptr_array_index (transfers, i);
      g_autoptr (GString) text = g_string_new (NULL);

      append_progress (text, transfer, FALSE);
      widths[0] = MAX (widths[0], cli_display_width (or_empty (bgt_transfer_get_id (transfer))));
      widths[1] = MAX (widths[1],
                       cli_display_width (cli_status_label (bgt_transfer_get_status (transfer))));
      widths[2] = MAX (widths[2], cli_display_width (text->str));
      g_ptr_array_add (progress, g_string_free (g_steal_pointer (&text), FALSE));
    }
  /* The progress gives way to the name down to 12 columns, then is cut */
  name_width = columns - 1 - (widths[0] + widths[1] + widths[2] + 6);
  if (name_width < 12)
    {
      widths[2] = MAX (widths[2] - (12 - name_width), 8);
      name_width = MAX (columns - 1 - (widths[0] + widths[1] + widths[2] + 6), 0);
    }

  for (guint i = 0; i <= shown; i++)
    {
      BgtTransfer *transfer = i > 0 ? g_ptr_array_index (transfers, i - 1) : NULL;
      g_autofree char *name = transfer != NULL ? short_name (transfer) : NULL;

      append_fitted (out,
                     transfer != NULL ? or_empty (bgt_transfer_get_id (transfer)) : _ (headings[0]),
                     widths[0]);
      g_string_append (out, "  ");
      append_fitted (out,
                     transfer != NULL ? cli_status_label (bgt_transfer_get_status (transfer))
                                      : _ (headings[1]),
                     widths[1]);
      g_string_append (out, "  ");
      append_fitted (out, transfer != NULL ? g_ptr_array_index (progress, i - 1) : _ (headings[2]),
                     widths[2]);
      g_string_append (out, "  ");
      append_fitted (out, transfer != NULL ? name : _ (headings[3]), name_width);
      /* No trailing blanks */
      while (out->len > 0 && out->str[out->len - 1] == ' ')
        g_string_truncate (out, out->len - 1);
      g_string_append_c (out, '\n');
    }
  if (shown < transfers->len)
    {
      guint more = transfers->len - shown;

      /* TRANSLATORS: below the monitor's table when the terminal is too short */
      g_string_append_printf (out,
                              g_dngettext (GETTEXT_PACKAGE, "… and %u more transfer\n",
                                           "… and %u more transfers\n", more),
                              more);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
print_field (const char *name, const char *value)
{
  g_print ("%s: %s\n", name, or_dash (value));
}

static void
print_size_field (const char *name, gint64 size)
{
  g_autofree char *human = NULL;

  if (size < 0)
    {
      /* TRANSLATORS: a size that is not known yet */
      print_field (name, _ ("unknown"));
      return;
    }
  human = format_size (size);
  g_print ("%s: %" G_GINT64_FORMAT " (%s)\n", name, size, human);
}

/* Why a paused transfer waits, in the service's own words: the network
 * or power state behind its status */
static const char *
waiting_reason (BgtTransfer *transfer)
{
  BgtClient *client = bgt_transfer_get_client (transfer);

  switch (bgt_transfer_get_status (transfer))
    {
      case BGT_STATUS_PAUSED_COSTED_NETWORK:
      case BGT_STATUS_PAUSED_NO_NETWORK:
        return cli_enum_nick (BGT_TYPE_NETWORK_STATE, bgt_client_get_network_state (client));
      case BGT_STATUS_PAUSED_SYSTEM_POLICY:
        return cli_enum_nick (BGT_TYPE_POWER_STATE, bgt_client_get_power_state (client));
      default:
        return NULL;
    }
}

void
cli_print_transfer_details (BgtTransfer *transfer)
{
  gboolean upload = bgt_transfer_get_kind (transfer) == BGT_TRANSFER_KIND_UPLOAD;
  BgtErrorStatus error_status = bgt_transfer_get_error_status (transfer);
  gint64 bytes, total;
  g_autofree char *rate = cli_format_rate (bgt_transfer_get_rate (transfer));
  g_autofree char *http_status = NULL;
  g_autofree char *attempts = g_strdup_printf ("%u", bgt_transfer_get_attempts (transfer));
  g_autofree char *created = cli_format_time (bgt_transfer_get_created_time (transfer));
  g_autofree char *completed = cli_format_time (bgt_transfer_get_completed_time (transfer));
  g_autoptr (GHashTable) headers = bgt_transfer_dup_response_headers (transfer);
  g_autoptr (GPtrArray) names = sorted_keys (headers);

  cli_transfer_get_progress (transfer, &bytes, &total);
  if (bgt_transfer_get_http_status (transfer) != 0)
    http_status = g_strdup_printf ("%u", bgt_transfer_get_http_status (transfer));

  print_field (_ ("ID"), bgt_transfer_get_id (transfer));
  print_field (_ ("Kind"),
               cli_enum_nick (BGT_TYPE_TRANSFER_KIND, bgt_transfer_get_kind (transfer)));
  print_field (_ ("URI"), bgt_transfer_get_uri (transfer));
  print_field (_ ("Actual URI"), bgt_transfer_get_actual_uri (transfer));
  print_field (upload ? _ ("Source") : _ ("Destination"), cli_transfer_get_location (transfer));
  print_field (_ ("Method"), bgt_transfer_get_method (transfer));
  print_field (_ ("Status"), cli_status_label (bgt_transfer_get_status (transfer)));
  if (waiting_reason (transfer) != NULL)
    print_field (_ ("Waiting because"), waiting_reason (transfer));
  print_size_field (_ ("Bytes"), bytes);
  print_size_field (_ ("Total"), total);
  print_field (_ ("Rate"), rate);
  print_field (_ ("HTTP status"), http_status);
  if (error_status == BGT_ERROR_STATUS_NONE)
    /* TRANSLATORS: the error status of a transfer that has none */
    print_field (_ ("Error status"), _ ("none"));
  else
    {
      g_autofree char *text = g_strdup_printf ("%s (%s)", bgt_error_status_to_string (error_status),
                                               bgt_error_status_get_description (error_status));

      print_field (_ ("Error status"), text);
    }
  print_field (_ ("Error message"), bgt_transfer_get_error_message (transfer));
  print_field (_ ("Priority"),
               cli_enum_nick (BGT_TYPE_PRIORITY, bgt_transfer_get_priority (transfer)));
  print_field (_ ("Cost policy"),
               cli_enum_nick (BGT_TYPE_COST_POLICY, bgt_transfer_get_cost_policy (transfer)));
  print_field (_ ("Group"), bgt_transfer_get_group (transfer));
  print_field (_ ("Tag"), bgt_transfer_get_tag (transfer));
  print_field (_ ("Created"), created);
  print_field (_ ("Completed"), completed);
  print_field (_ ("Attempts"), attempts);
  print_field (_ ("Resumable"), bgt_transfer_get_is_resumable (transfer) ? _ ("yes") : _ ("no"));
  if (names->len == 0)
    print_field (_ ("Response headers"), NULL);
  else
    g_print ("%s:\n", _ ("Response headers"));
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);

      g_print ("  %s: %s\n", name, (const char *) g_hash_table_lookup (headers, name));
    }
}

/* ---- Progress report ---------------------------------------------------- */

struct _CliProgress
{
  BgtTransfer *transfer;
  CliProgressMode mode;
  CliThrottle throttle;
  gboolean status_shown;
  BgtStatus shown_status; /* lines: the last status printed */
  gint64 shown_bytes;     /* lines: the byte count last printed */
  glong drawn_width;      /* bar: the columns drawn on the current line */
  gboolean ended;
};

/* The width of the terminal on @fd; $COLUMNS, or 80, when it does not say */
glong
cli_terminal_columns (int fd)
{
  struct winsize size;
  const char *env = g_getenv ("COLUMNS");
  guint64 columns;

  if (ioctl (fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, 10000, &columns, NULL))
    return (glong) columns;
  return 80;
}

/* The height of the terminal on @fd; $LINES, or 24 */
glong
cli_terminal_rows (int fd)
{
  struct winsize size;
  const char *env = g_getenv ("LINES");
  guint64 rows;

  if (ioctl (fd, TIOCGWINSZ, &size) == 0 && size.ws_row > 0)
    return size.ws_row;
  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, 10000, &rows, NULL))
    return (glong) rows;
  return 24;
}

/* "[=====>      ]  24% 12.3 MB/50.0 MB  2.0 MB/s  ETA 0:23", redrawn in
 * place: what does not fit in the terminal's width goes, the bar first,
 * then the least important pieces */
static void
draw_bar (CliProgress *self)
{
  g_autoptr (GString) right = g_string_new (NULL);
  g_autoptr (GString) line = g_string_new ("\r");
  g_auto (GStrv) pieces = progress_pieces (self->transfer, TRUE);
  gint64 bytes, total;
  glong columns = cli_terminal_columns (STDERR_FILENO) - 1; /* the last column would wrap */
  glong width, bar;

  cli_transfer_get_progress (self->transfer, &bytes, &total);
  append_pieces (right, pieces, columns);
  width = cli_display_width (right->str);

  bar = MIN (columns - width - 3, 40);
  if (total >= 0 && bar >= 10)
    {
      double progress = bgt_transfer_get_progress (self->transfer);
      glong filled = total == 0 ? bar : (glong) ((double) bar * MAX (progress, 0.0));

      g_string_append_c (line, '[');
      for (glong i = 0; i < bar; i++)
        g_string_append_c (line, i < filled ? '=' : (i == filled ? '>' : ' '));
      g_string_append (line, "] ");
      width += bar + 3;
    }
  g_string_append (line, right->str);
  /* Blank what a longer previous line left */
  for (glong i = width; i < self->drawn_width; i++)
    g_string_append_c (line, ' ');
  self->drawn_width = width;
  g_printerr ("%s", line->str);
  fflush (stderr);
}

static void
print_progress_line (CliProgress *self)
{
  BgtStatus status = bgt_transfer_get_status (self->transfer);
  g_autoptr (GString) line = g_string_new (NULL);
  gint64 bytes, total;

  cli_transfer_get_progress (self->transfer, &bytes, &total);
  /* A failed transfer may have dropped its data: its count means nothing */
  if (bytes == self->shown_bytes || status == BGT_STATUS_ERROR || status == BGT_STATUS_CANCELED)
    return;
  self->shown_bytes = bytes;
  append_progress (line, self->transfer, FALSE);
  g_printerr ("%s\n", line->str);
}

static void
print_status_line (CliProgress *self)
{
  BgtStatus status = bgt_transfer_get_status (self->transfer);

  if (self->status_shown && status == self->shown_status)
    return;
  self->status_shown = TRUE;
  self->shown_status = status;
  g_printerr ("%s\n", cli_status_label (status));
}

static void
on_throttled (gpointer user_data)
{
  CliProgress *self = user_data;

  if (self->mode == CLI_PROGRESS_BAR)
    draw_bar (self);
  else
    print_progress_line (self);
}

static void
on_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  CliProgress *self = user_data;

  if (!g_str_equal (pspec->name, "status"))
    {
      cli_throttle_poke (&self->throttle);
      return;
    }
  /* A status change shows at once */
  if (self->mode == CLI_PROGRESS_BAR)
    cli_throttle_fire (&self->throttle);
  else
    {
      print_progress_line (self);
      print_status_line (self);
    }
}

CliProgress *
cli_progress_new (BgtTransfer *transfer, CliProgressMode mode)
{
  static const char *const signals[]
      = { "notify::status",     "notify::bytes-received",      "notify::total-bytes-to-receive",
          "notify::bytes-sent", "notify::total-bytes-to-send", "notify::rate" };
  CliProgress *self = g_new0 (CliProgress, 1);

  self->transfer = g_object_ref (transfer);
  self->mode = mode;
  cli_throttle_init (&self->throttle, mode == CLI_PROGRESS_BAR ? 100 : 1000, on_throttled, self);
  if (mode == CLI_PROGRESS_NONE)
    return self;

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    g_signal_connect (transfer, signals[i], G_CALLBACK (on_notify), self);
  if (mode == CLI_PROGRESS_BAR)
    cli_throttle_fire (&self->throttle);
  else
    {
      print_progress_line (self);
      print_status_line (self);
    }
  return self;
}

/* Shows the last state and ends the report */
void
cli_progress_end (CliProgress *self)
{
  if (self->ended)
    return;
  self->ended = TRUE;
  g_signal_handlers_disconnect_by_data (self->transfer, self);
  cli_throttle_clear (&self->throttle);
  switch (self->mode)
    {
      case CLI_PROGRESS_BAR:
        draw_bar (self);
        g_printerr ("\n");
        break;
      case CLI_PROGRESS_LINES:
        print_progress_line (self);
        print_status_line (self);
        break;
      case CLI_PROGRESS_NONE:
      default:
        break;
    }
}

void
cli_progress_free (CliProgress *self)
{
  g_signal_handlers_disconnect_by_data (self->transfer, self);
  cli_throttle_clear (&self->throttle);
  g_object_unref (self->transfer);
  g_free (self);
}
