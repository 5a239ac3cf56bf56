namespace Pigeon.Messaging.Store;

/// <summary>
/// Sealed table <c>attachments</c>: every file a message carried, sent or received, by attachment id:
/// its pointer (key, capability, name, type), its message, who sent it and where it stands. Nothing of
/// it is in the clear.
/// </summary>
internal sealed class AttachmentTable(SealedTable table)
{
    /// <summary>The attachment <paramref name="attachmentId"/>, or null.</summary>
    public AttachmentRow? Find(Guid attachmentId) => table.Find(attachmentId.ToString()) is { } value ? Read(value) : null;

    /// <summary>Every attachment, newest first.</summary>
    public List<AttachmentRow> All() => [.. table.All().Select(row => Read(row.Value)).OrderByDescending(a => a.At)];

    /// <summary>Stores (or replaces) an attachment.</summary>
    public void Save(AttachmentRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        table.Put(row.AttachmentId.ToString(), StoreJson.Write(new StoredAttachment(row.Pointer, row.MessageId, row.Conversation, row.Direction, row.Author,
            row.AuthorName, row.State, row.At.ToUnixTimeMilliseconds(), row.SavedTo, row.Error)));
    }

    /// <summary>Forgets an attachment; false when there was none.</summary>
    public bool Delete(Guid attachmentId) => table.Delete(attachmentId.ToString());

    private AttachmentRow Read(byte[] value)
    {
        var stored = StoreJson.Read<StoredAttachment>(value, table.Name);
        return new AttachmentRow(stored.Pointer, stored.MessageId, stored.Conversation, stored.Direction, stored.Author, stored.AuthorName, stored.State,
            ProfileDatabase.FromMs(stored.At), stored.SavedTo, stored.Error);
    }
}

/// <summary>
/// Sealed table <c>uploads</c>: uploads begun and not yet sent, by attachment id, so a process that
/// died part-way resumes them (<see cref="UploadRow"/>).
/// </summary>
internal sealed class UploadTable(SealedTable table)
{
    /// <summary>Every pending upload, oldest first.</summary>
    public List<UploadRow> All() => [.. table.All().Select(row => Read(row.Value)).OrderBy(u => u.At)];

    /// <summary>Records an upload begun.</summary>
    public void Save(UploadRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        table.Put(row.Pointer.AttachmentId.ToString(),
            StoreJson.Write(new StoredUpload(row.Pointer, row.Conversation, row.CiphertextFile, row.Caption, row.At.ToUnixTimeMilliseconds())));
    }

    /// <summary>Forgets an upload (sent, or given up); false when there was none.</summary>
    public bool Delete(Guid attachmentId) => table.Delete(attachmentId.ToString());

    private UploadRow Read(byte[] value)
    {
        var stored = StoreJson.Read<StoredUpload>(value, table.Name);
        return new UploadRow(stored.Pointer, stored.Conversation, stored.CiphertextFile, stored.Caption, ProfileDatabase.FromMs(stored.At));
    }
}
