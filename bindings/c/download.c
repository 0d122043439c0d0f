/* download.c: download a file in the background with libbgtransfer, from C
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Build and run:
 *   cc -o download download.c $(pkg-config --cflags --libs bgtransfer-1)
 *   ./download URI DESTINATION
 *
 * The download is handed to the background transfer service: if this
 * program is stopped, the transfer goes on. Progress comes as property
 * notifications of the BgtDownload; bgt_transfer_wait_async() tells how
 * it ended.
 */
#include <bgtransfer.h>

typedef struct
{
  GMainLoop *loop;
  const char *destination;
  int status; /* the exit status: 0 once the file is saved */
} Example;

static void
on_progress (BgtTransfer *transfer, GParamSpec *pspec, gpointer user_data)
{
  /* The size is unknown until the server says it (the cast maps "unknown"
   * to -1) */
  gint64 total = (gint64) bgt_transfer_get_total_bytes_to_receive (transfer);

  if (total >= 0)
    g_print ("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " bytes\n",
             (gint64) bgt_transfer_get_bytes_received (transfer), total);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Example *example = user_data;
  g_autoptr (GError) error = NULL;

  /* FALSE with an error when the transfer failed or was canceled: the
   * message names the reason (an ErrorStatus such as "not-found") */
  if (bgt_transfer_wait_finish (BGT_TRANSFER (source), result, &error))
    {
      g_print ("saved %s\n", example->destination);
      example->status = 0;
    }
  else
    {
      g_printerr ("failed: %s\n", error->message);
    }
  g_main_loop_quit (example->loop);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Example *example = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (BgtDownload) download = NULL;

  download = bgt_downloader_create_download_finish (BGT_DOWNLOADER (source), result, &error);
  if (download == NULL)
    {
      g_printerr ("cannot download: %s\n", error->message);
      g_main_loop_quit (example->loop);
      return;
    }
  /* The download may have made progress, or ended, before it got here:
   * report where it is, then every change (the service sends progress at
   * most ten times a second) */
  on_progress (BGT_TRANSFER (download), NULL, example);
  g_signal_connect (download, "notify::bytes-received", G_CALLBACK (on_progress), example);
  /* The wait holds a reference to the download until it ends */
  bgt_transfer_wait_async (BGT_TRANSFER (download), NULL, on_done, example);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BgtClient) client = NULL;
  g_autoptr (BgtDownloader) downloader = NULL;
  g_autoptr (GFile) destination = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  Example example = { 0 };

  if (argc != 3)
    {
      g_printerr ("usage: %s URI DESTINATION\n", argv[0]);
      return 2;
    }

  /* Connects to the service on the session bus (D-Bus starts it if need
   * be) as the application with this id: it sees only its own transfers */
  client = bgt_client_new_sync ("org.freedesktop.BackgroundTransfer.ExampleC", NULL, &error);
  if (client == NULL)
    {
      g_printerr ("cannot reach the service: %s\n", error->message);
      return 1;
    }

  loop = g_main_loop_new (NULL, FALSE);
  example.loop = loop;
  example.destination = argv[2];
  example.status = 1;

  /* A downloader holds the defaults of the downloads it creates (cost
   * policy, priority, group, headers...); these are the service's own */
  downloader = bgt_downloader_new (client);
  destination = g_file_new_for_commandline_arg (argv[2]);
  bgt_downloader_create_download_async (downloader, argv[1], destination, NULL, on_created,
                                        &example);
  g_main_loop_run (loop);

  return example.status;
}
