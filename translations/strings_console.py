"""Vietnamese for the console, sign-in and receipt-link pages (merged by translations/fill.py)."""

VI = {
    # audit log actions
    "Agency created": "Tạo cơ quan",
    "Agency changed": "Sửa cơ quan",
    "Counter created": "Tạo quầy",
    "Counter changed": "Sửa quầy",
    "QR code replaced": "Thay mã QR",
    "Counter retired": "Ngừng hoạt động quầy",
    "Counter reactivated": "Cho quầy hoạt động lại",
    "Account created": "Tạo tài khoản",
    "Account changed": "Sửa tài khoản",
    "Password reset": "Cấp lại mật khẩu",
    # sign-in
    "E-mail": "Thư điện tử",
    "Password": "Mật khẩu",
    "The e-mail or password is not correct.": "Thư điện tử hoặc mật khẩu không đúng.",
    "You have signed out.": "Bạn đã đăng xuất.",
    "Sign in": "Đăng nhập",
    "Sign in to the survey console": "Đăng nhập trang quản trị khảo sát",
    (
        "For staff of the agencies and evaluators. Citizens do not need an account: they scan "
        "the QR code at the counter."
    ): (
        "Dành cho cán bộ, công chức của các cơ quan và người đánh giá. Người dân không cần tài "
        "khoản: chỉ cần quét mã QR tại quầy."
    ),
    "Too many failed sign-ins": "Đăng nhập sai quá nhiều lần",
    (
        "To protect the accounts, signing in is paused for a while after several wrong "
        "passwords. Please wait a few minutes and try again, or ask an administrator to reset "
        "your password."
    ): (
        "Để bảo vệ tài khoản, việc đăng nhập được tạm dừng một thời gian sau nhiều lần nhập "
        "sai mật khẩu. Vui lòng chờ vài phút rồi thử lại, hoặc đề nghị quản trị viên cấp lại "
        "mật khẩu."
    ),
    "Back to the sign-in page": "Quay lại trang đăng nhập",
    "Sign out": "Đăng xuất",
    # flashed messages and errors of the console
    "Counter %(code)s created. Print its poster and put it at the counter.": (
        "Đã tạo quầy %(code)s. Hãy in áp phích và đặt tại quầy."
    ),
    "This agency and its sub-agencies have no active counter.": (
        "Cơ quan này và các đơn vị trực thuộc chưa có quầy nào đang hoạt động."
    ),
    "(none: a top-level agency)": "(không có: cơ quan cấp cao nhất)",
    "Agency %(code)s created.": "Đã tạo cơ quan %(code)s.",
    "Changes saved.": "Đã lưu thay đổi.",
    (
        "The counter has a new QR code. Print the new poster: the old one now tells citizens "
        "to scan the new one."
    ): (
        "Quầy đã có mã QR mới. Hãy in áp phích mới: áp phích cũ từ nay sẽ báo người dân quét "
        "mã trên áp phích mới."
    ),
    "Counter %(code)s retired.": "Quầy %(code)s đã ngừng hoạt động.",
    "Counter %(code)s is active again.": "Quầy %(code)s đã hoạt động trở lại.",
    "Enter the dossier code printed on the receipt.": (
        "Nhập mã hồ sơ in trên giấy tiếp nhận và hẹn trả kết quả."
    ),
    "(none)": "(không có)",
    "Please fill in this field.": "Vui lòng nhập thông tin này.",
    "Use 1 to 40 letters, digits, dots, dashes or underscores, without spaces.": (
        "Dùng từ 1 đến 40 chữ cái, chữ số, dấu chấm, gạch ngang hoặc gạch dưới, không có "
        "khoảng trắng."
    ),
    "This is not an e-mail address.": "Đây không phải là địa chỉ thư điện tử.",
    "A counter with code %(code)s already exists.": "Đã có quầy mang mã %(code)s.",
    "An agency with code %(code)s already exists.": "Đã có cơ quan mang mã %(code)s.",
    "An agency cannot be placed below itself or its own sub-agencies.": (
        "Không thể đặt một cơ quan trực thuộc chính nó hoặc đơn vị trực thuộc của nó."
    ),
    "Unknown role %(role)s.": "Vai trò %(role)s không hợp lệ.",
    "A manager needs an agency.": "Người quản lý phải thuộc một cơ quan.",
    "Only managers belong to an agency.": "Chỉ người quản lý mới gắn với một cơ quan.",
    "An account with e-mail %(email)s already exists.": (
        "Đã có tài khoản với địa chỉ thư điện tử %(email)s."
    ),
    "You cannot remove your own admin role or disable your own account.": (
        "Bạn không thể tự bỏ quyền quản trị hoặc tự khóa tài khoản của mình."
    ),
    # form labels and choices
    "Name": "Tên",
    "Questionnaire": "Phiếu khảo sát",
    "Code": "Mã",
    "Province": "Tỉnh",
    "Department": "Sở, ban, ngành",
    "District": "Huyện",
    "Commune": "Xã",
    "Name in Vietnamese": "Tên tiếng Việt",
    "Name in English (optional)": "Tên tiếng Anh (không bắt buộc)",
    "Level": "Cấp",
    "Parent agency": "Cơ quan cấp trên",
    "Admin (everything)": "Quản trị viên (toàn quyền)",
    "Manager of an agency": "Người quản lý của một cơ quan",
    "Evaluator (reads all results)": "Người đánh giá (xem mọi kết quả)",
    "Role": "Vai trò",
    "Agency (managers only)": "Cơ quan (chỉ với người quản lý)",
    "May sign in": "Được đăng nhập",
    "Counter": "Quầy",
    "Dossier code": "Mã hồ sơ",
    "Agency": "Cơ quan",
    "Disabled": "Đã khóa",
    # receipt-link pages for citizens
    "Link expired": "Đường dẫn đã hết hạn",
    "This evaluation link has expired": "Đường dẫn đánh giá này đã hết hạn",
    (
        "The link printed on your receipt can only be used for a limited time after the "
        "dossier was received, and that time has passed. Nothing was recorded."
    ): (
        "Đường dẫn in trên giấy tiếp nhận chỉ dùng được trong một thời gian nhất định sau khi "
        "hồ sơ được tiếp nhận, và thời gian đó đã qua. Không có thông tin nào được ghi nhận."
    ),
    "You can still tell us how you were served: scan the QR code on the poster at the counter.": (
        "Ông/bà vẫn có thể cho biết ý kiến về việc phục vụ: hãy quét mã QR trên áp phích tại quầy."
    ),
    "Link not valid": "Đường dẫn không hợp lệ",
    "This evaluation link is not valid": "Đường dẫn đánh giá này không hợp lệ",
    (
        "The link does not match any receipt issued by the agency. It may have been mistyped "
        "or changed. Nothing was recorded."
    ): (
        "Đường dẫn không khớp với giấy tiếp nhận nào do cơ quan cấp. Có thể đường dẫn đã bị gõ "
        "sai hoặc bị thay đổi. Không có thông tin nào được ghi nhận."
    ),
    "Please scan the QR code on your receipt again, or the one on the poster at the counter.": (
        "Vui lòng quét lại mã QR trên giấy tiếp nhận, hoặc mã QR trên áp phích tại quầy."
    ),
    "Already evaluated": "Đã đánh giá",
    "This dossier has already been evaluated": "Hồ sơ này đã được đánh giá",
    (
        "Each dossier can be evaluated once, and an evaluation for this dossier has been "
        "received. Thank you for taking part."
    ): (
        "Mỗi hồ sơ chỉ được đánh giá một lần, và hồ sơ này đã nhận được đánh giá. Trân trọng "
        "cảm ơn ông/bà đã tham gia."
    ),
    "To tell us about another visit, scan the QR code on the poster at the counter.": (
        "Để đánh giá một lần giao dịch khác, vui lòng quét mã QR trên áp phích tại quầy."
    ),
    # layout and menu
    "Agencies": "Cơ quan",
    "Survey console": "Quản trị khảo sát",
    "Console menu": "Danh mục quản trị",
    "Receipt links": "Đánh giá theo hồ sơ",
    "Accounts": "Tài khoản",
    "Audit log": "Nhật ký thay đổi",
    # agency page
    "Edit agency": "Sửa cơ quan",
    "New sub-agency": "Thêm đơn vị trực thuộc",
    "Sub-agencies": "Đơn vị trực thuộc",
    "Counters": "Quầy",
    "Status": "Trạng thái",
    "Active": "Đang hoạt động",
    "Retired": "Ngừng hoạt động",
    "This agency has no counter of its own.": "Cơ quan này chưa có quầy riêng.",
    "Posters": "Áp phích",
    (
        "One PDF with a poster for every active counter of this agency and its sub-agencies "
        "(%(n)s in all)."
    ): (
        "Một tệp PDF gồm áp phích của mọi quầy đang hoạt động thuộc cơ quan này và các đơn vị "
        "trực thuộc (tổng cộng %(n)s)."
    ),
    "A4 wall posters (PDF)": "Áp phích treo tường A4 (PDF)",
    "A6 table cards (PDF)": "Biển để bàn A6 (PDF)",
    "New counter": "Thêm quầy",
    "A short code that identifies the counter, e.g. STP-Q1.": (
        "Mã ngắn để nhận biết quầy, ví dụ STP-Q1."
    ),
    "As citizens know it, e.g. Quầy số 1 – Lĩnh vực hộ tịch.": (
        "Tên quen thuộc với người dân, ví dụ Quầy số 1 – Lĩnh vực hộ tịch."
    ),
    "Create counter": "Tạo quầy",
    "Active counters: %(n)s": "Số quầy đang hoạt động: %(n)s",
    "No agency is assigned to your account yet. Please ask an administrator.": (
        "Tài khoản của bạn chưa được gán cơ quan nào. Vui lòng liên hệ quản trị viên."
    ),
    # agency form
    "New agency": "Thêm cơ quan",
    "Edit agency %(code)s": "Sửa cơ quan %(code)s",
    "Letters, digits and dashes, e.g. MH-STP. It cannot be changed later.": (
        "Chữ cái, chữ số và dấu gạch ngang, ví dụ MH-STP. Không thể đổi mã sau khi tạo."
    ),
    "Save": "Lưu",
    # audit log page
    (
        "Every change made in the console or on the command line, newest first. Times are "
        "Vietnam time."
    ): (
        "Mọi thay đổi thực hiện trên trang quản trị hoặc bằng dòng lệnh, mới nhất ở trên. Thời "
        "gian theo giờ Việt Nam."
    ),
    "When": "Thời gian",
    "Who": "Người thực hiện",
    "What": "Nội dung",
    "Before → after": "Trước → sau",
    "(command line)": "(dòng lệnh)",
    "Newer": "Mới hơn",
    "Page %(n)s of %(total)s": "Trang %(n)s/%(total)s",
    "Older": "Cũ hơn",
    "Nothing has been changed yet.": "Chưa có thay đổi nào.",
    # counter page
    "QR code and posters": "Mã QR và áp phích",
    "QR code of the survey address %(url)s": "Mã QR của địa chỉ khảo sát %(url)s",
    "Address printed under the code": "Địa chỉ in dưới mã",
    "A4 wall poster (PDF)": "Áp phích treo tường A4 (PDF)",
    "A6 table card (PDF)": "Biển để bàn A6 (PDF)",
    "QR code (SVG)": "Mã QR (SVG)",
    "QR code (PNG)": "Mã QR (PNG)",
    "Make a receipt link for a dossier": "Tạo đường dẫn đánh giá cho một hồ sơ",
    "Name and questionnaire": "Tên và phiếu khảo sát",
    "Answers already given keep the questionnaire they were given with.": (
        "Các câu trả lời đã nhận vẫn giữ phiếu khảo sát đã dùng khi trả lời."
    ),
    "Save changes": "Lưu thay đổi",
    "Replace or retire": "Thay mã QR hoặc ngừng hoạt động",
    (
        "Replace the QR code when a poster was lost, copied or put up in the wrong place. The "
        "old posters then tell citizens to scan the new one; print and put up the new poster."
    ): (
        "Thay mã QR khi áp phích bị mất, bị sao chép hoặc dán sai chỗ. Khi đó áp phích cũ sẽ "
        "báo người dân quét mã mới; hãy in và dán áp phích mới."
    ),
    "Replace the QR code": "Thay mã QR",
    (
        "Retire the counter when it closes: its QR code stops taking answers. Answers already "
        "given are kept."
    ): (
        "Cho quầy ngừng hoạt động khi quầy đóng: mã QR của quầy không nhận ý kiến nữa. Các câu "
        "trả lời đã nhận vẫn được giữ lại."
    ),
    "Retire the counter": "Ngừng hoạt động quầy",
    "This counter is retired: its QR code takes no answers.": (
        "Quầy này đã ngừng hoạt động: mã QR của quầy không nhận ý kiến."
    ),
    "Bring the counter back": "Cho quầy hoạt động lại",
    # not allowed
    "Not allowed": "Không được phép",
    "Your role does not allow this": "Vai trò của bạn không được phép thực hiện việc này",
    (
        "This page or action is not open to your account. If you need it, please ask an "
        "administrator."
    ): (
        "Tài khoản của bạn không được truy cập trang hoặc thực hiện thao tác này. Nếu cần, vui "
        "lòng liên hệ quản trị viên."
    ),
    "Back to the agencies": "Quay lại danh sách cơ quan",
    # accounts
    "Password for %(email)s": "Mật khẩu của %(email)s",
    (
        "Give this password to its owner in person or by another safe channel. It is shown "
        "only now and cannot be looked up later."
    ): (
        "Hãy trao mật khẩu này trực tiếp cho người dùng hoặc qua một kênh an toàn khác. Mật "
        "khẩu chỉ hiển thị lần này và không thể tra cứu lại."
    ),
    "Back to the accounts": "Quay lại danh sách tài khoản",
    "New account": "Thêm tài khoản",
    "A manager manages this agency and every agency below it.": (
        "Người quản lý quản lý cơ quan này và mọi đơn vị trực thuộc."
    ),
    "A password is generated and shown once, for you to hand over.": (
        "Mật khẩu được tạo tự động và chỉ hiển thị một lần để bạn trao cho người dùng."
    ),
    "Create account": "Tạo tài khoản",
    "A new password is generated and shown once; the old one stops working.": (
        "Mật khẩu mới được tạo tự động và chỉ hiển thị một lần; mật khẩu cũ hết hiệu lực."
    ),
    "Reset the password": "Cấp lại mật khẩu",
    # receipt links in the console
    (
        "A receipt link lets the citizen evaluate one dossier, once. Print its QR code on the "
        "receipt slip (giấy tiếp nhận và hẹn trả kết quả). The dossier code itself is not "
        "stored, only a keyed hash of it."
    ): (
        "Đường dẫn trên giấy tiếp nhận cho phép người dân đánh giá một hồ sơ, một lần duy "
        "nhất. Hãy in mã QR lên giấy tiếp nhận và hẹn trả kết quả. Hệ thống không lưu mã hồ "
        "sơ, chỉ lưu giá trị băm có khóa của mã."
    ),
    "Link for dossier %(code)s": "Đường dẫn cho hồ sơ %(code)s",
    "This dossier has already been evaluated: the link will only say so.": (
        "Hồ sơ này đã được đánh giá: đường dẫn sẽ chỉ thông báo điều đó."
    ),
    "QR code of the receipt link": "Mã QR của đường dẫn đánh giá",
    "Valid until": "Có hiệu lực đến",
    "Make a receipt link": "Tạo đường dẫn đánh giá",
    "As printed on the receipt, e.g. 000.00.12.H56-241105-0001.": (
        "Như in trên giấy tiếp nhận, ví dụ 000.00.12.H56-241105-0001."
    ),
    "Make the link": "Tạo đường dẫn",
    (
        "Case-management software can ask for the same links through the API: POST "
        "/api/v1/receipts."
    ): ("Phần mềm một cửa điện tử có thể lấy các đường dẫn này qua API: POST /api/v1/receipts."),
    "Your agencies have no active counter.": "Các cơ quan của bạn chưa có quầy nào đang hoạt động.",
}
