using System.Globalization;
using System.Threading.Channels;
using Pigeon.Client.Cli;
using Pigeon.Client.Commands;
using Pigeon.Messaging;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Pigeon.Client.Chat;

/// <summary>
/// The full-screen <c>pigeon chat</c> (Spectre.Console on the terminal's alternate screen): the
/// conversations (contacts, then groups) with their unread counts on the left, the open one with times, names and each sent
/// message's state (queued, sent, delivered, read), and the input line at the bottom, which what
/// arrives never touches (the whole screen is drawn again, the line is kept). Tab and Shift-Tab (or
/// Ctrl-N, Ctrl-P) switch conversations, PageUp and PageDown scroll, Enter sends, Esc or Ctrl-C leaves
/// at once. Showing a conversation marks it read (to a contact a read receipt goes out unless turned
/// off; a group's texts are marked read here only); typing to a contact sends a typing indicator
/// (unless turned off), to a group nothing.
/// </summary>
internal sealed class ChatScreen
{
    private const int ListWidth = 28;
    private const int HistoryLimit = 500;
    private static readonly TimeSpan TypingShownFor = TimeSpan.FromSeconds(15);

    private readonly ProfileSession _session;
    private readonly CliContext _context;
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>();
    private readonly IAnsiConsole _console;
    private List<Conversation> _conversations = [];
    private Dictionary<string, string> _names = [];
    private Dictionary<string, int> _unread = [];
    private List<MessageRow> _messages = [];
    private Dictionary<Guid, AttachmentPointer> _files = [];
    private int _open;
    private int _scroll;
    private string _input = "";
    private bool _typingSent;
    private string? _status;
    private (string ContactId, DateTimeOffset Until)? _peerTyping;
    private bool _leave;

    public ChatScreen(ProfileSession session, CliContext context)
    {
        _session = session;
        _context = context;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Out = new AnsiConsoleOutput(Console.Out),
        });
    }

    /// <summary>Runs until Esc or Ctrl-C; <paramref name="receive"/> is the receive loop, given a way to hand it events.</summary>
    public async Task<int> RunAsync(string? conversation, Func<Action<ReceivedEvent>, CancellationToken, Task<int>> receive, CancellationToken ct)
    {
        await ReloadAsync();
        if (conversation is not null)
        {
            var wanted = await _session.Groups.ResolveConversationAsync(conversation);
            _open = Math.Max(0, _conversations.FindIndex(c => c.Key == wanted.Key));
        }

        await OpenAsync(_open);
        using var leave = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var receiving = receive(received => _work.Writer.TryWrite(() => OnReceivedAsync(received)), leave.Token);
        var keys = Task.Run(() => ReadKeys(leave.Token), CancellationToken.None);
        // Redraws now and then, so a typing indicator that was never stopped goes away.
        using var tick = new Timer(_ => _work.Writer.TryWrite(() => Task.CompletedTask), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        Console.TreatControlCAsInput = true;
        Console.Out.Write("\u001b[?1049h\u001b[?25l");
        try
        {
            Draw();
            while (!_leave && !receiving.IsCompleted)
            {
                var next = _work.Reader.ReadAsync(leave.Token).AsTask();
                if (await Task.WhenAny(next, receiving) != next)
                {
                    break;
                }
                await (await next)();
                while (_work.Reader.TryRead(out var more) && !_leave)
                {
                    await more();
                }
                Draw();
            }
        }
        catch (OperationCanceledException) when (leave.IsCancellationRequested)
        {
            // SIGTERM: leave below.
        }
        finally
        {
            Console.Out.Write("\u001b[?25h\u001b[?1049l");
            Console.Out.Flush();
            Console.TreatControlCAsInput = false;
            await leave.CancelAsync();
            if (_typingSent)
            {
                await SendTypingAsync(false);
            }
        }
        var exitCode = await receiving;
        _context.WriteLine("Left the chat.");
        return exitCode;
    }

    private void ReadKeys(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested && !_leave)
        {
            var key = Console.ReadKey(intercept: true);
            _work.Writer.TryWrite(() => OnKeyAsync(key));
            if (key.Key == ConsoleKey.Escape || (key.Key == ConsoleKey.C && key.Modifiers.HasFlag(ConsoleModifiers.Control)))
            {
                return;
            }
        }
    }

    private async Task OnKeyAsync(ConsoleKeyInfo key)
    {
        var control = key.Modifiers.HasFlag(ConsoleModifiers.Control);
        switch (key.Key)
        {
            case ConsoleKey.Escape:
            case ConsoleKey.C when control:
                _leave = true;
                return;
            case ConsoleKey.Tab when key.Modifiers.HasFlag(ConsoleModifiers.Shift):
            case ConsoleKey.P when control:
                await OpenAsync(_open - 1);
                return;
            case ConsoleKey.Tab:
            case ConsoleKey.N when control:
                await OpenAsync(_open + 1);
                return;
            case ConsoleKey.PageUp:
                _scroll += Math.Max(1, ConversationHeight() - 1);
                return;
            case ConsoleKey.PageDown:
                _scroll = Math.Max(0, _scroll - Math.Max(1, ConversationHeight() - 1));
                return;
            case ConsoleKey.Enter:
                await SendAsync();
                return;
            case ConsoleKey.Backspace:
                if (_input.Length > 0)
                {
                    _input = _input[..^1];
                    if (_input.Length == 0 && _typingSent)
                    {
                        _ = SendTypingAsync(false);
                    }
                }
                return;
        }

        if (!char.IsControl(key.KeyChar) && !PeerText.IsUnsafe(key.KeyChar))
        {
            _input += key.KeyChar;
            if (!_typingSent && Open?.Contact is not null)
            {
                _ = SendTypingAsync(true);
            }
        }
    }

    private Conversation? Open => _open < _conversations.Count ? _conversations[_open] : null;

    private async Task SendAsync()
    {
        if (Open is not { } conversation || string.IsNullOrWhiteSpace(_input))
        {
            return;
        }

        var text = _input;
        _input = "";
        _typingSent = false;
        if (ChatInput.AttachedPath(text) is { } path)
        {
            _ = Task.Run(() => AttachAsync(conversation, path));
            return;
        }

        try
        {
            if (conversation.Contact is { } contact)
            {
                await _session.Outbox.SendAsync(contact, text, CancellationToken.None);
            }
            else
            {
                await _session.Groups.SendAsync(conversation.Group!, text, CancellationToken.None);
            }
            _status = null;
        }
        catch (Exception exception) when (PigeonCommand.AsCliException(exception) is { } failure)
        {
            _status = failure.Message;
        }
        _scroll = 0;
        await LoadMessagesAsync();
    }

    // Uploads in the background, so typing and receiving go on; the status line follows the upload.
    private async Task AttachAsync(Conversation conversation, string path)
    {
        var name = PeerText.Inline(Path.GetFileName(path));
        var percent = -1;
        void Status(string status) => _work.Writer.TryWrite(() =>
        {
            _status = status;
            return Task.CompletedTask;
        });

        Status($"Uploading {name}…");
        try
        {
            await _session.Attachments.SendAsync(conversation, path, null, new TransferProgressView.Reporter(p =>
            {
                var now = p.Total == 0 ? 100 : (int)(p.Done * 100 / p.Total);
                if (Interlocked.Exchange(ref percent, now) != now)
                {
                    Status($"Uploading {name}: {Sizes.Format(p.Done)} of {Sizes.Format(p.Total)} ({now}%)");
                }
            }), CancellationToken.None);
            _work.Writer.TryWrite(async () =>
            {
                _status = $"Sent {name}.";
                await LoadMessagesAsync();
            });
        }
        catch (Exception exception)
        {
            // Nobody awaits this task: whatever went wrong is said on the status line.
            Status(PigeonCommand.AsCliException(exception)?.Message ?? $"{name} was not sent: {exception.Message}");
        }
    }

    private async Task SendTypingAsync(bool typing)
    {
        if (Open?.Contact is not { } contact)
        {
            return;
        }
        _typingSent = typing;
        try
        {
            await _session.Outbox.SendTypingAsync(contact, typing, CancellationToken.None);
        }
        catch (MessagingException)
        {
            // An indicator that does not go out is not worth a message.
        }
    }

    private async Task OnReceivedAsync(ReceivedEvent received)
    {
        switch (received.Kind)
        {
            case ReceivedKind.Typing:
                _peerTyping = received.IsTyping == true ? (received.ContactId!, received.ReceivedAt + TypingShownFor) : null;
                return;
            case ReceivedKind.Text when received.ContactId == _peerTyping?.ContactId:
                _peerTyping = null;
                break;
            case ReceivedKind.Failed:
                _status = $"A message from {PeerText.Inline(received.ContactName ?? received.ContactId ?? "an unknown sender")} {received.Error}.";
                break;
        }
        await ReloadAsync();
        await LoadMessagesAsync();
    }

    private async Task ReloadAsync()
    {
        var current = Open?.Key;
        var contacts = await _session.Contacts.AllAsync();
        _names = contacts.ToDictionary(c => c.AccountId, c => c.Label, StringComparer.Ordinal);
        _conversations = [.. contacts.Select(c => new Conversation(c, null)), .. (await _session.Groups.AllAsync()).Select(g => new Conversation(null, g))];
        _open = current is null ? 0 : Math.Max(0, _conversations.FindIndex(c => c.Key == current));
        _unread = await _session.Contacts.UnreadCountsAsync();
    }

    private async Task OpenAsync(int index)
    {
        if (_conversations.Count == 0)
        {
            return;
        }
        if (_typingSent)
        {
            await SendTypingAsync(false);
        }
        _open = ((index % _conversations.Count) + _conversations.Count) % _conversations.Count;
        _scroll = 0;
        _peerTyping = null;
        await LoadMessagesAsync();
    }

    // What is on the screen is read: mark it so, and tell the contact (unless read receipts are off).
    private async Task LoadMessagesAsync()
    {
        if (Open is not { } conversation)
        {
            _messages = [];
            return;
        }
        if (_unread.GetValueOrDefault(conversation.Key) > 0)
        {
            if (conversation.Contact is { } unreadContact)
            {
                await _session.Contacts.MarkReadAsync(unreadContact, CancellationToken.None);
            }
            else
            {
                await _session.Groups.MarkReadAsync(conversation.Group!, CancellationToken.None);
            }
            _unread = await _session.Contacts.UnreadCountsAsync();
        }
        _messages = conversation.Contact is { } contact
            ? (await _session.Contacts.HistoryAsync(contact.AccountId, HistoryLimit)).Messages
            : (await _session.Groups.HistoryAsync(conversation.Group!, HistoryLimit)).Messages;
        _files = _messages.Any(m => m.AttachmentId is not null)
            ? (await _session.Attachments.ListAsync()).ToDictionary(item => item.Row.AttachmentId, item => item.Row.Pointer)
            : [];
    }

    private static int ConversationHeight() => Math.Max(1, Console.WindowHeight - 3 - 3);

    private void Draw()
    {
        var width = Math.Max(40, Console.WindowWidth);
        var height = Math.Max(10, Console.WindowHeight);
        _console.Profile.Width = width;
        _console.Profile.Height = height;
        var root = new Layout("root").SplitRows(new Layout("main").SplitColumns(new Layout("list").Size(ListWidth), new Layout("conversation")), new Layout("input").Size(3));
        root["list"].Update(new Panel(new Rows(ListLines())) { Header = new PanelHeader(" Conversations "), Expand = true });
        var conversationWidth = width - ListWidth - 4;
        root["conversation"].Update(new Panel(new Rows(ConversationLines(conversationWidth, height - 3 - 2))) { Header = new PanelHeader(ConversationTitle()), Expand = true });
        var input = "> " + _input;
        var shown = input.Length > width - 5 ? "…" + input[^(width - 6)..] : input;
        root["input"].Update(new Panel(new Text(shown + "█")) { Header = new PanelHeader(" Enter sends · /attach PATH sends a file · Tab switches · PgUp/PgDn scroll · Esc leaves "), Expand = true });
        Console.Out.Write("\u001b[H");
        _console.Write(root);
        Console.Out.Flush();
    }

    private string ConversationTitle() => Open switch
    {
        { Contact: { } contact } => $" {Markup.Escape(PeerText.Inline(contact.Label))} ({contact.AccountId[..8]}…) ",
        { Group: { } group } => $" {Markup.Escape(PeerText.Inline(group.Title))} (group, {group.Members.Count} members{(group.HasMember(_session.Profile.AccountId) ? "" : ", left")}) ",
        _ => " No contacts yet: 'pigeon invite <id>' ",
    };

    private IEnumerable<IRenderable> ListLines()
    {
        for (var i = 0; i < _conversations.Count; i++)
        {
            var conversation = _conversations[i];
            var unread = _unread.GetValueOrDefault(conversation.Key);
            var label = conversation.Contact is { } contact ? PeerText.Inline(contact.Label) : "# " + PeerText.Inline(conversation.Group!.Title);
            var line = $"{(i == _open ? ">" : " ")} {label}{(unread > 0 ? $" ({unread})" : "")}{(conversation.Contact?.State == ContactState.Invited ? " …" : "")}";
            yield return new Text(line, i == _open ? new Style(decoration: Decoration.Bold) : Style.Plain) { Overflow = Overflow.Ellipsis };
        }
    }

    private List<IRenderable> ConversationLines(int width, int rows)
    {
        var lines = new List<string>();
        var me = _session.Profile.DisplayName;
        foreach (var m in _messages)
        {
            var who = m.Direction == MessageDirection.Out ? me
                : Open!.Contact is { } contact ? contact.Label
                : m.Author is { } author ? _names.GetValueOrDefault(author, author[..Math.Min(8, author.Length)] + "…") : "?";
            var time = TimeZoneInfo.ConvertTime(m.SentAt ?? m.At, _context.Time.LocalTimeZone).ToString("HH:mm", CultureInfo.InvariantCulture);
            var body = m.Kind switch
            {
                MessageKind.Request => "[contact request]" + (m.Body is { } note ? " " + note : ""),
                MessageKind.Accepted => "[accepted]",
                MessageKind.Failed => "[a message that could not be decrypted]",
                _ => ReceivedEventWriter.Text(m.Body, m.AttachmentId is { } id ? _files.GetValueOrDefault(id) : null) ?? "",
            };
            var state = m.Direction == MessageDirection.Out && m.Kind == MessageKind.Text ? $"  · {m.State}" : "";
            lines.AddRange((m.Kind is MessageKind.GroupChange or MessageKind.DeviceAdded
                ? $"[{time}] · {PeerText.Inline(m.Body ?? "")}"
                : $"[{time}] {PeerText.Inline(who)}: {PeerText.Block(body, "        ")}{state}").Split('\n'));
        }

        var visible = Math.Max(1, rows - 1);
        _scroll = Math.Clamp(_scroll, 0, Math.Max(0, lines.Count - visible));
        var end = lines.Count - _scroll;
        var shown = lines.Skip(Math.Max(0, end - visible)).Take(Math.Min(visible, end)).ToList();
        var result = new List<IRenderable>();
        for (var i = shown.Count; i < visible; i++)
        {
            result.Add(new Text(""));
        }
        result.AddRange(shown.Select(line => new Text(line.Length > width ? line[..Math.Max(1, width - 1)] + "…" : line)));
        var status = _status ?? (_peerTyping is { } typing && typing.ContactId == Open?.Contact?.AccountId && typing.Until > _context.Time.GetUtcNow()
            ? $"{PeerText.Inline(Open!.Contact!.Label)} is typing…"
            : _scroll > 0 ? $"-- {_scroll} lines below: PageDown --" : "");
        result.Add(new Text(status, new Style(decoration: Decoration.Italic)) { Overflow = Overflow.Ellipsis });
        return result;
    }
}
