/* bgt-call-queue.c: every call of the library to the service, with a bound
 * on the calls awaiting their reply
 *
 * A message bus limits how many method calls of one connection may await
 * their reply (dbus-daemon: 128 by default); a call beyond the limit fails
 * at once with LimitsExceeded. An application that creates thousands of
 * transfers in a loop would meet that limit. So every call of the library
 * goes through the queue of its connection, which sends at most
 * BGT_CALL_QUEUE_MAX_IN_FLIGHT at a time and the others in order as
 * replies come back. The queue belongs to the connection (all the clients
 * on one connection share it) and lives in the main context the library
 * is used from.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgt-call-queue.h"
#include "bgt-private.h"

#define QUEUE_KEY "bgt-call-queue"

typedef struct
{
  GQueue waiting; /* of the GTask in each Call's link, oldest first */
  guint in_flight;
} CallQueue;

typedef struct
{
  char *object_path;
  char *interface_name;
  char *method_name;
  GVariant *parameters;
  GVariantType *reply_type;
  GUnixFDList *fd_list;
  GList link;              /* in CallQueue.waiting while it waits; data: the GTask */
  gboolean waiting;        /* whether link is in the queue */
  GSource *cancel_waiting; /* returns a waiting call as soon as it is cancelled */
} Call;

typedef struct
{
  GVariant *reply;
  GUnixFDList *fd_list;
} Reply;

static void
call_free (Call *call)
{
  g_assert (!call->waiting);
  if (call->cancel_waiting != NULL)
    {
      g_source_destroy (call->cancel_waiting);
      g_source_unref (call->cancel_waiting);
    }
  g_free (call->object_path);
  g_free (call->interface_name);
  g_free (call->method_name);
  g_clear_pointer (&call->parameters, g_variant_unref);
  g_clear_pointer (&call->reply_type, g_variant_type_free);
  g_clear_object (&call->fd_list);
  g_free (call);
}

static void
reply_free (Reply *reply)
{
  g_clear_pointer (&reply->reply, g_variant_unref);
  g_clear_object (&reply->fd_list);
  g_free (reply);
}

static void
call_queue_free (CallQueue *queue)
{
  /* Every waiting call holds a reference on the connection */
  g_assert (g_queue_is_empty (&queue->waiting));
  g_free (queue);
}

static CallQueue *
call_queue_get (GDBusConnection *connection)
{
  CallQueue *queue = g_object_get_data (G_OBJECT (connection), QUEUE_KEY);

  if (queue == NULL)
    {
      queue = g_new0 (CallQueue, 1);
      g_queue_init (&queue->waiting);
      g_object_set_data_full (G_OBJECT (connection), QUEUE_KEY, queue,
                              (GDestroyNotify) call_queue_free);
    }
  return queue;
}

static void send_call (CallQueue *queue, GTask *task);

/* Sends what waits, as far as the bound allows */
static void
pump (CallQueue *queue)
{
  while (queue->in_flight < BGT_CALL_QUEUE_MAX_IN_FLIGHT && !g_queue_is_empty (&queue->waiting))
    {
      GList *link = g_queue_pop_head_link (&queue->waiting);
      GTask *task = link->data;
      Call *call = g_task_get_task_data (task);

      call->waiting = FALSE;
      send_call (queue, task);
    }
}

static void
on_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GDBusConnection *connection = G_DBUS_CONNECTION (source);
  CallQueue *queue = call_queue_get (connection);
  g_autoptr (GUnixFDList) fd_list = NULL;
  GError *error = NULL;
  GVariant *reply;

  reply = g_dbus_connection_call_with_unix_fd_list_finish (connection, &fd_list, result, &error);
  queue->in_flight--;
  pump (queue);
  if (reply == NULL)
    {
      g_task_return_error (task, _bgt_error_convert (error));
      return;
    }
  {
    Reply *r = g_new0 (Reply, 1);

    r->reply = reply;
    r->fd_list = g_steal_pointer (&fd_list);
    g_task_return_pointer (task, r, (GDestroyNotify) reply_free);
  }
}

/* Takes @task */
static void
send_call (CallQueue *queue, GTask *task)
{
  Call *call = g_task_get_task_data (task);

  if (call->cancel_waiting != NULL)
    {
      g_source_destroy (call->cancel_waiting);
      g_clear_pointer (&call->cancel_waiting, g_source_unref);
    }
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  queue->in_flight++;
  g_dbus_connection_call_with_unix_fd_list (
      G_DBUS_CONNECTION (g_task_get_source_object (task)), BGT_BUS_NAME, call->object_path,
      call->interface_name, call->method_name, call->parameters, call->reply_type,
      G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS, call->fd_list, g_task_get_cancellable (task),
      on_reply, task);
}

/* A call cancelled while it waits for its turn ends at once */
static gboolean
on_cancelled_waiting (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  Call *call = g_task_get_task_data (task);
  CallQueue *queue = call_queue_get (G_DBUS_CONNECTION (g_task_get_source_object (task)));

  if (call->waiting)
    {
      g_queue_unlink (&queue->waiting, &call->link);
      call->waiting = FALSE;
      g_clear_pointer (&call->cancel_waiting, g_source_unref);
      g_task_return_error_if_cancelled (task);
      g_object_unref (task); /* the queue's */
    }
  return G_SOURCE_REMOVE;
}

/*
 * _bgt_call:
 *
 * Calls @method_name of the service's object at @object_path, like
 * g_dbus_connection_call_with_unix_fd_list(), once fewer than
 * BGT_CALL_QUEUE_MAX_IN_FLIGHT calls of @connection await their reply.
 * Calls are sent in the order they are made. Errors arrive converted to
 * BGT_ERROR (_bgt_error_convert()).
 */
void
_bgt_call (GDBusConnection *connection, const char *object_path, const char *interface_name,
           const char *method_name, GVariant *parameters, const GVariantType *reply_type,
           GUnixFDList *fd_list, GCancellable *cancellable, GAsyncReadyCallback callback,
           gpointer user_data)
{
  CallQueue *queue = call_queue_get (connection);
  GTask *task = g_task_new (connection, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  g_task_set_source_tag (task, _bgt_call);
  call->object_path = g_strdup (object_path);
  call->interface_name = g_strdup (interface_name);
  call->method_name = g_strdup (method_name);
  call->parameters = parameters != NULL ? g_variant_ref_sink (parameters) : NULL;
  call->reply_type = reply_type != NULL ? g_variant_type_copy (reply_type) : NULL;
  call->fd_list = fd_list != NULL ? g_object_ref (fd_list) : NULL;
  call->link.data = task;
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);

  if (queue->in_flight < BGT_CALL_QUEUE_MAX_IN_FLIGHT && g_queue_is_empty (&queue->waiting))
    {
      send_call (queue, task);
      return;
    }
  g_queue_push_tail_link (&queue->waiting, &call->link);
  call->waiting = TRUE;
  if (cancellable != NULL)
    {
      call->cancel_waiting = g_cancellable_source_new (cancellable);
      g_source_set_callback (call->cancel_waiting, G_SOURCE_FUNC (on_cancelled_waiting), task,
                             NULL);
      g_source_attach (call->cancel_waiting, g_task_get_context (task));
    }
}

GVariant *
_bgt_call_finish (GAsyncResult *result, GUnixFDList **out_fd_list, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  Reply *reply;
  GVariant *ret;

  g_return_val_if_fail (G_IS_TASK (result), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == _bgt_call, NULL);

  reply = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (reply == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  ret = g_steal_pointer (&reply->reply);
  if (out_fd_list != NULL)
    *out_fd_list = g_steal_pointer (&reply->fd_list);
  reply_free (reply);
  return ret;
}
