/* bt-transfer.h: one transfer, its state, and its object on the bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <libsoup/soup.h>

#include "bt-callers.h"
#include "bt-destination.h"
#include "bt-policy.h"
#include "bt-rate.h"
#include "bt-secrets.h"
#include "bt-source.h"
#include "bt-store.h"
#include "bt-types.h"
#include "bt-verify.h"

G_BEGIN_DECLS

#define BT_TRANSFERS_PATH "/org/freedesktop/BackgroundTransfer/transfer"
#define BT_TRANSFER_PATH_PREFIX BT_TRANSFERS_PATH "/"
#define BT_TRANSFER_INTERFACE "org.freedesktop.BackgroundTransfer.Transfer"

/* One attempt at moving a transfer's bytes (bt-download.c, bt-upload.c) */
typedef struct _BtJob BtJob;
struct _BtJob
{
  void (*stop) (BtJob *job); /* no report to the transfer afterwards */
};

static inline void
bt_job_stop (BtJob *job)
{
  job->stop (job);
}

#define BT_TYPE_TRANSFER (bt_transfer_get_type ())
G_DECLARE_FINAL_TYPE (BtTransfer, bt_transfer, BT, TRANSFER, GObject)

/* The service's own view: the engine and the scheduler read and update
 * these fields directly, and announce changes with bt_transfer_changed(). */
struct _BtTransfer
{
  GObject parent_instance;

  /* What was asked */
  char *id;
  char *object_path;
  char *app_id;
  guint64 seq; /* creation order */
  BtKind kind;
  char *uri;
  char *method;
  GPtrArray *headers;       /* alternating name, value; never a secret one */
  BtSecrets *secrets;       /* credentials and secret headers: memory and Secret Service only */
  gboolean has_secrets;     /* the Secret Service holds some */
  gboolean secrets_pending; /* being read back after a restart: not runnable yet */
  BtPriority priority;
  BtCostPolicy cost_policy;
  char *group;
  char *tag;
  gboolean fail_if_changed;
  BtRateLimiter *rate_limiter; /* option max-rate, or NULL */
  char *completion_group;      /* id of the completion group it belongs to, or NULL */
  GVariant *notify;            /* desktop notification texts, or NULL */
  gboolean notified;
  BtDigest *checksum; /* the app's, or NULL */
  GStrv mirrors;      /* further URIs of the same resource */
  gint64 created_time;
  BtDestination *destination; /* downloads: the data; uploads: the server's reply */
  BtSource *source;           /* uploads */
  gboolean tus;               /* protocol "tus" */
  gboolean response_in_state; /* the reply is kept by the service, size-bounded */

  /* Where it stands */
  BtStatus status;
  gboolean queued; /* waits for a free slot */
  char *actual_uri;
  guint64 bytes_received;
  guint64 checkpoint_bytes;    /* written and recorded in the store */
  guint64 synced_bytes;        /* of which flushed to the disk */
  gboolean recovered_changes;  /* restoring it changed it: save it again */
  gboolean committing;         /* renaming the data into place */
  gboolean sandboxed;          /* created by a sandboxed app */
  guint checkpoint_generation; /* bumped whenever the data starts over */
  gboolean checkpoint_in_flight;
  guint64 total_bytes; /* BT_SIZE_UNKNOWN when unknown */
  guint64 bytes_sent;
  guint64 total_to_send; /* BT_SIZE_UNKNOWN for a stream */
  char *tus_url;         /* the upload's URL on a tus server, once created */
  guint http_status;
  GPtrArray *response_headers; /* alternating name, value */
  char *etag;
  char *last_modified;
  BtDigest *server_digest; /* RFC 9530 digest of the representation, or NULL */
  guint uri_index;         /* 0: uri, n: mirrors[n - 1] */
  gboolean is_resumable;
  guint64 rate;
  guint attempts;
  guint retries;
  BtErrorStatus error_status;
  char *error_message;
  gint64 completed_time;

  /* Running */
  BtJob *job;
  guint retry_source;

  GSettings *settings;
  BtStore *store;
  BtPolicy *policy;

  /* On the bus */
  GDBusConnection *connection;
  BtCallers *callers;
  gboolean exported;
  GHashTable *dirty;
  guint flush_source;
  gint64 last_flush_us;
};

BtTransfer *bt_transfer_new_download (const char *id, const char *app_id, guint64 seq,
                                      const char *uri, GVariant *options, GUnixFDList *fd_list,
                                      gboolean sandboxed, GError **error);

BtTransfer *bt_transfer_new_upload (const char *id, const char *app_id, guint64 seq,
                                    const char *uri, GVariant *options, GUnixFDList *fd_list,
                                    gboolean sandboxed, const char *responses_dir, GError **error);
BtTransfer *bt_transfer_new_from_record (const char *id, const char *app_id, guint64 seq,
                                         GVariant *record);
GVariant *bt_transfer_serialize (BtTransfer *self);
void bt_transfer_save (BtTransfer *self);
gboolean bt_transfer_commit_destination (BtTransfer *self, GError **error);
gboolean bt_transfer_may_reach_local_network (BtTransfer *self);
void bt_transfer_checkpoint (BtTransfer *self);
void bt_transfer_checkpoint_in_background (BtTransfer *self, gboolean flush);
void bt_transfer_reset_checkpoint (BtTransfer *self, guint64 bytes);
gboolean bt_transfer_keeps_service_busy (BtTransfer *self);

gboolean bt_transfer_export (BtTransfer *self, GDBusConnection *connection, BtCallers *callers,
                             GError **error);
void bt_transfer_unexport (BtTransfer *self);
const GDBusInterfaceVTable *bt_transfer_vtable (void);

void bt_transfer_changed (BtTransfer *self, const char *property);
const char *bt_transfer_get_current_uri (BtTransfer *self);
void bt_transfer_set_status (BtTransfer *self, BtStatus status);
void bt_transfer_set_error (BtTransfer *self, BtErrorStatus error_status, const char *message);
gboolean bt_transfer_is_unfinished (BtTransfer *self);
gboolean bt_transfer_waits_for_network (BtTransfer *self);
void bt_transfer_hold (BtTransfer *self, BtStatus status);

void bt_transfer_run (BtTransfer *self, SoupSession *session);

/* Called by the engine when an attempt ends; see bt-transfer.c */
void bt_transfer_attempt_done (BtTransfer *self, BtErrorStatus error_status, const char *message,
                               gboolean transient, guint retry_after_s);

G_END_DECLS
