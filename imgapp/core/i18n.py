"""The message catalogue: every UI string in Simplified Chinese and English.

Pages never hold literal text; they ask for a key (`components.text.t`). The
catalogue is plain data so that services' errors, the API and the UI all
translate from one place.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
DEFAULT_LANG: Lang = "zh"
LANGS: tuple[Lang, ...] = ("zh", "en")

# key: (Simplified Chinese, English). `{name}` placeholders are filled by `text()`.
CATALOG: dict[str, tuple[str, str]] = {
    # brand and shell
    "app.name": ("imgapp", "imgapp"),
    "app.tagline": ("购买点数，生成 AI 图像", "Buy credits, generate AI images"),
    "nav.dashboard": ("概览", "Dashboard"),
    "nav.recharge": ("充值", "Recharge"),
    "nav.console": ("控制台", "Console"),
    "nav.usage": ("用量报表", "Usage"),
    "nav.invites": ("邀请", "Invites"),
    "nav.security": ("安全", "Security"),
    "nav.account": ("账户", "Account"),
    "shell.signed_in_as": ("当前账户", "Signed in as"),
    "shell.sign_out": ("退出登录", "Sign out"),
    "shell.language": ("English", "中文"),
    "shell.language_label": ("切换语言", "Switch language"),
    "shell.loading": ("正在加载…", "Loading…"),
    # sign-in / sign-up
    "auth.sign_in": ("登录", "Sign in"),
    "auth.sign_up": ("注册", "Sign up"),
    "auth.sign_in_title": ("登录 imgapp", "Sign in to imgapp"),
    "auth.sign_up_title": ("创建 imgapp 账户", "Create your imgapp account"),
    "auth.email": ("邮箱", "Email"),
    "auth.password": ("密码", "Password"),
    "auth.display_name": ("昵称（可选）", "Display name (optional)"),
    "auth.password_policy": ("至少 8 个字符。", "At least 8 characters."),
    "auth.no_account": ("还没有账户？", "No account yet?"),
    "auth.have_account": ("已经有账户？", "Already have an account?"),
    "auth.create_one": ("立即注册", "Create one"),
    "auth.sign_in_instead": ("去登录", "Sign in instead"),
    "auth.signed_out": ("你已退出登录。", "You have signed out."),
    # money
    "shell.balance": ("余额", "Balance"),
    "money.credits_unit": ("点", "credits"),
    "money.worth": ("约合", "worth"),
    "kind.recharge": ("充值", "Recharge"),
    "kind.charge": ("消费", "Charge"),
    "kind.refund": ("退款", "Refund"),
    "kind.reward": ("奖励", "Reward"),
    "kind.adjustment": ("调整", "Adjustment"),
    "col.time": ("时间", "Time"),
    "col.kind": ("类型", "Kind"),
    "col.amount": ("变动", "Amount"),
    "col.balance_after": ("变动后余额", "Balance after"),
    "col.reference": ("关联", "Reference"),
    "col.description": ("说明", "Description"),
    "col.what": ("项目", "What"),
    "col.images": ("图片数", "Images"),
    "col.credits": ("点数", "Credits"),
    # dashboard
    "dash.balance": ("点数余额", "Credit balance"),
    "dash.recharge": ("充值点数", "Buy credits"),
    "dash.console": ("去生成图片", "Generate images"),
    "dash.recent_usage": ("最近用量", "Recent usage"),
    "dash.recent_entries": ("最近账务", "Recent transactions"),
    "dash.no_usage": ("还没有用量记录。", "No usage yet."),
    "dash.no_entries": ("还没有账务记录。", "No transactions yet."),
    # account
    "acct.profile": ("个人资料", "Profile"),
    "acct.display_name": ("昵称", "Display name"),
    "acct.save": ("保存", "Save"),
    "acct.saved": ("已保存。", "Saved."),
    "acct.email_title": ("修改邮箱", "Change email"),
    "acct.current_email": ("当前邮箱", "Current email"),
    "acct.new_email": ("新邮箱", "New email"),
    "acct.current_password": ("当前密码", "Current password"),
    "acct.change_email": ("修改邮箱", "Change email"),
    "acct.email_changed": ("邮箱已更新。", "Your email address has been changed."),
    "acct.password_title": ("修改密码", "Change password"),
    "acct.new_password": ("新密码（至少 8 个字符）", "New password (at least 8 characters)"),
    "acct.change_password": ("修改密码", "Change password"),
    "acct.password_changed": (
        "密码已更新，其他设备上的登录已全部退出。",
        "Password changed. Every other signed-in device has been signed out.",
    ),
    "acct.billing": ("近期账务", "Recent billing"),
    "acct.statement": ("下载对账单", "Download statement"),
    "acct.statement_hint": (
        "所选日期内的全部账务记录，CSV 格式（可用 Excel 打开）。",
        "Every ledger entry in the chosen dates, as CSV (opens in spreadsheets).",
    ),
    "acct.from": ("开始日期", "From"),
    "acct.to": ("结束日期", "To"),
    "acct.download": ("下载 CSV", "Download CSV"),
    # tasks
    "status.pending": ("排队中", "Queued"),
    "status.processing": ("生成中", "Generating"),
    "status.completed": ("已完成", "Done"),
    "status.failed": ("失败", "Failed"),
    "status.cancelled": ("已取消", "Cancelled"),
    "task.msg.rendering": (
        "正在绘制第 {image}/{of} 张（第 {step}/{steps} 遍）",
        "Drawing image {image} of {of} (pass {step} of {steps})",
    ),
    "task.msg.requesting": ("正在生成第 {image}/{of} 张图片", "Generating image {image} of {of}"),
    "task.msg.requeued": (
        "处理器中断，任务已重新排队。",
        "The processor running it stopped; the task is queued again.",
    ),
    "task.msg.gave_up": (
        "处理器多次中断，任务失败，点数已退还。",
        "The processor stopped too many times; the task failed and your credits were refunded.",
    ),
    "task.msg.provider_auth": (
        "图像服务拒绝了本站的 API 密钥，请联系管理员。点数已退还。",
        "The image service refused this site's API key; please tell the operator. "
        "Your credits were refunded.",
    ),
    "task.msg.provider_busy": (
        "图像服务繁忙（请求过多），请稍后再试。点数已退还。",
        "The image service is busy (too many requests). Try again in a while; "
        "your credits were refunded.",
    ),
    "task.msg.provider_timeout": (
        "图像服务响应超时，请稍后再试。点数已退还。",
        "The image service did not answer in time. Try again later; your credits were refunded.",
    ),
    "task.msg.provider_down": (
        "图像服务暂时不可用，请稍后再试。点数已退还。",
        "The image service is unavailable right now. Try again later; your credits were refunded.",
    ),
    "task.msg.content_policy": (
        "提示词被图像服务的内容政策拒绝，请修改后重试。点数已退还。",
        "The image service's content policy refused this prompt. Rephrase it and try again; "
        "your credits were refunded.",
    ),
    "task.msg.provider_bad_request": (
        "图像服务不接受这个请求（模型或参数不受支持）。点数已退还。",
        "The image service does not accept this request (model or parameters not supported). "
        "Your credits were refunded.",
    ),
    "task.msg.provider_failed": (
        "图像生成失败，点数已退还。",
        "The images could not be made; your credits were refunded.",
    ),
    "task.msg.internal": (
        "处理时出现内部错误，点数已退还。",
        "Something went wrong while processing; your credits were refunded.",
    ),
    "error.task_finished": (
        "该任务已结束，无法取消。",
        "This task has already finished and can no longer be cancelled.",
    ),
    "error.prompt_required": ("请描述你想要的图片。", "Describe the image you want."),
    "error.prompt_too_long": (
        "提示词最多 {max} 个字符（当前 {length} 个）。",
        "The prompt can be at most {max} characters (it has {length}).",
    ),
    "error.negative_prompt_too_long": (
        "反向提示词最多 {max} 个字符。",
        "The negative prompt can be at most {max} characters.",
    ),
    "error.model_unknown": (
        "不提供模型 {model}，可选：{choices}。",
        "The model {model} is not offered. Choose one of: {choices}.",
    ),
    "error.size_unknown": (
        "不提供尺寸 {size}，可选：{choices}。",
        "The size {size} is not offered. Choose one of: {choices}.",
    ),
    "error.image_count_range": (
        "图片数量必须是 1 到 {max} 的整数。",
        "`n` must be a whole number from 1 to {max}.",
    ),
    "error.quality_unknown": ("画质只能是：{choices}。", "Quality must be one of: {choices}."),
    "error.style_unknown": (
        "风格只能是：{choices}（或留空）。",
        "Style must be one of: {choices} (or empty).",
    ),
    "error.request_id_invalid": (
        "`request_id` 必须是最多 {max} 个字符的字符串。",
        "`request_id` must be a string of at most {max} characters.",
    ),
    # console
    "console.new_task": ("新建生成任务", "New generation task"),
    "console.prompt": ("提示词", "Prompt"),
    "console.prompt_placeholder": (
        "描述你想要的画面，例如：黄昏时分的灯塔，油画风格",
        "Describe the picture, e.g. a lighthouse at dusk, oil painting",
    ),
    "console.negative_prompt": ("反向提示词（可选）", "Negative prompt (optional)"),
    "console.model": ("模型", "Model"),
    "console.size": ("尺寸", "Size"),
    "console.count": ("数量", "Images"),
    "console.quality": ("画质", "Quality"),
    "console.style": ("风格", "Style"),
    "console.cost": ("本次消耗", "This costs"),
    "console.top_up": ("余额不足，去充值", "Not enough credits: top up"),
    "console.generate": ("开始生成", "Generate"),
    "console.provider": ("生成服务：", "Made by:"),
    "console.tasks": ("任务", "Tasks"),
    "console.no_tasks": (
        "还没有任务。填写左侧表单开始生成。",
        "No tasks yet. Fill in the form to start.",
    ),
    "console.cancel": ("取消", "Cancel"),
    "console.retry": ("用相同参数再来一次", "Again with these settings"),
    "console.refunded": ("已退还点数：", "Refunded:"),
    "console.gallery": ("作品", "Gallery"),
    "console.no_images": ("完成的图片会显示在这里。", "Finished images appear here."),
    "console.download": ("下载", "Download"),
    # page placeholders until their features land
    "page.dashboard.title": ("概览", "Dashboard"),
    "page.dashboard.welcome": ("欢迎回来", "Welcome back"),
    "page.recharge.title": ("充值", "Recharge"),
    "pay.choose": ("选择充值金额", "Choose an amount"),
    "pay.amount": ("金额（元）", "Amount (CNY)"),
    "pay.buys": ("可获得", "Buys"),
    "pay.create": ("生成付款码", "Get the QR code"),
    "pay.order": ("订单", "Order"),
    "pay.order_id": ("订单号", "Order"),
    "pay.scan": ("请用手机扫码支付。", "Scan the code with your phone to pay."),
    "pay.expires": ("过期：", "Expires"),
    "pay.open_alipay": ("打开支付宝", "Open Alipay"),
    "pay.retry": ("重试", "Try again"),
    "pay.paid": ("支付成功，点数已到账。", "Paid: the credits are in your balance."),
    "pay.expired": (
        "订单已过期，请重新下单（已付款的订单仍会到账）。",
        "This order has expired; start a new one (a payment already made still arrives).",
    ),
    "pay.new": ("重新下单", "New order"),
    "pay.recent": ("最近的充值", "Recent recharges"),
    "pay.via": ("方式", "Via"),
    "pay.credits": ("点数", "Credits"),
    "pay.status": ("状态", "Status"),
    "pay.created": ("时间", "Created"),
    "pay.sandbox": ("沙箱 · 不会真实扣款", "Sandbox · no real money"),
    "pay.status.pending": ("待支付", "Waiting for payment"),
    "pay.status.succeeded": ("已支付", "Paid"),
    "pay.status.failed": ("失败", "Failed"),
    "pay.status.expired": ("已过期", "Expired"),
    "pay.type.alipay": ("支付宝", "Alipay"),
    "pay.type.wechat": ("微信", "WeChat"),
    "page.console.title": ("控制台", "Console"),
    "page.usage.title": ("用量报表", "Usage"),
    "page.usage.soon": (
        "这里将按时间范围显示你的用量明细与汇总，并可导出 CSV。",
        "Your usage by date range, with totals and a CSV export, will appear here.",
    ),
    "page.invites.title": ("邀请", "Invites"),
    "page.invites.soon": (
        "这里将显示你的邀请链接、已邀请的好友和获得的奖励。",
        "Your invite link, the friends you invited and the rewards you earned will appear here.",
    ),
    "page.security.title": ("安全", "Security"),
    "page.security.soon": (
        "这里将列出你的登录会话（可逐个注销）和账户的审计事件。",
        "Your sign-in sessions (each can be revoked) and your account's audit events "
        "will appear here.",
    ),
    "page.account.title": ("账户", "Account"),
    # errors: keys are error.<code or rule>
    "error.error": (
        "出了点问题，请稍后再试。",
        "Something went wrong. Please try again.",
    ),
    "error.validation": ("输入不正确。", "The input is not valid."),
    "error.not_found": ("未找到。", "Not found."),
    "error.conflict": (
        "与现有数据冲突。",
        "That conflicts with what is already there.",
    ),
    "error.email_taken": (
        "该邮箱已注册，请直接登录。",
        "An account with this email already exists. Sign in instead.",
    ),
    "error.auth": ("认证失败。", "Authentication failed."),
    "error.invalid_credentials": ("邮箱或密码错误。", "Wrong email or password."),
    "error.not_signed_in": ("请先登录。", "Please sign in."),
    "error.wrong_password": ("当前密码不正确。", "The current password is not right."),
    "error.email_unchanged": ("这已经是你的邮箱地址。", "That is already your email address."),
    "error.unknown_user": ("没有这个用户。", "`user_id` does not match any user."),
    "error.internal_key": (
        "缺少或错误的内部 API 密钥。",
        "Missing or wrong internal API key. Send it as Authorization: Bearer <key>, "
        "X-API-Key or x-internal-token.",
    ),
    "error.too_many_attempts": (
        "登录失败次数过多，请 {minutes} 分钟后再试。",
        "Too many failed sign-ins. Try again in {minutes} minutes.",
    ),
    "error.permission_denied": (
        "你没有权限执行此操作。",
        "You are not allowed to do that.",
    ),
    "error.email_required": ("请输入邮箱。", "Enter your email address."),
    "error.email_invalid": (
        "请输入有效的邮箱地址，例如 name@example.com。",
        "Enter a valid email address, like name@example.com.",
    ),
    "error.password_required": ("请输入密码。", "Enter your password."),
    "error.password_too_short": (
        "密码至少需要 {min} 个字符。",
        "Use at least {min} characters for the password.",
    ),
    "error.password_too_long": (
        "密码最多 {max} 个字符。",
        "Use at most {max} characters for the password.",
    ),
    "error.password_blank": (
        "密码不能全是空格。",
        "The password cannot be only spaces.",
    ),
    "error.display_name_too_long": (
        "昵称最多 {max} 个字符。",
        "Use at most {max} characters for the display name.",
    ),
    "error.insufficient_credits": (
        "点数不足：需要 {needed} 点，当前余额 {balance} 点。",
        "Not enough credits: this needs {needed}, your balance is {balance}.",
    ),
    "error.idempotency_conflict": (
        "该幂等键已用于另一笔不同的操作。",
        "This idempotency key was already used for a different operation.",
    ),
    "error.refund_exceeds_charge": (
        "退款金额超过了该笔扣费的剩余部分。",
        "The refund is larger than what is left of the charge.",
    ),
    "error.field_missing": ("缺少字段 `{name}`。", "`{name}` is required."),
    "error.field_not_text": ("`{name}` 必须是非空字符串。", "`{name}` must be a non-empty string."),
    "error.field_too_long": (
        "`{name}` 最多 {max} 个字符。",
        "`{name}` must be at most {max} characters.",
    ),
    "error.amount_not_integer": (
        "`{name}` 必须是整数（JSON 整数），而不是 {got}。",
        "`{name}` must be a whole number (a JSON integer), not {got}.",
    ),
    "error.adjustment_zero": ("调整数量不能为零。", "An adjustment must not be zero."),
    "error.amount_not_positive": ("`{name}` 必须大于零。", "`{name}` must be greater than zero."),
    "error.amount_too_large": ("`{name}` 最多为 {max}。", "`{name}` must be at most {max}."),
    "error.idempotency_key_required": (
        "`idempotency_key` 必须是非空字符串。",
        "`idempotency_key` must be a non-empty string.",
    ),
    "error.idempotency_key_too_long": (
        "`idempotency_key` 最多 {max} 个字符。",
        "`idempotency_key` must be at most {max} characters.",
    ),
    "error.date_invalid": (
        "`{name}` 必须是日期，例如 2026-11-22。",
        "`{name}` must be a date like 2026-11-22.",
    ),
    "error.date_range_reversed": (
        "开始日期不能晚于结束日期。",
        "The start date must not be after the end date.",
    ),
    "error.bad_request": ("请求格式不正确：{detail}", "The request is not valid: {detail}"),
    "error.cross_site": (
        "请求来自其他网站，已拒绝。请在 imgapp 页面上重试。",
        "This request came from another site and was refused. Try again from imgapp.",
    ),
    # Recharge: what a payer is told.
    "error.amount_format": (
        '金额请填写元，最多两位小数，例如 "50.00"。',
        'Enter the amount in yuan with at most two decimals, such as "50.00".',
    ),
    "error.amount_too_small": ("金额至少为 0.01 元。", "The amount must be at least 0.01."),
    "error.amount_over_limit": (
        "{label_zh}单笔最多 {limit} 元。",
        "{label_en} takes at most {limit} per payment.",
    ),
    "error.amount_buys_nothing": (
        "1 点售价 {price} 元，金额至少要能买 1 点。",
        "One credit costs {price}; the amount must buy at least one.",
    ),
    "error.pay_type_unknown": (
        "支付方式只能是：{offered}。",
        "The pay type must be one of: {offered}.",
    ),
    "error.payment_gateway": (
        "支付渠道没有接受订单。",
        "The payment provider did not take the order.",
    ),
    "pay.gw.channel_unavailable": (
        "商户暂未开通该支付渠道，请换一种支付方式。",
        "This payment channel is not available; please choose another pay type.",
    ),
    "pay.gw.misconfigured": (
        "支付配置有误，已通知管理员；请稍后再试。",
        "Payments are misconfigured on our side; the operators have been told. Please try later.",
    ),
    "pay.gw.merchant_frozen": (
        "收款账户暂时不可用，请稍后再试。",
        "The merchant account is suspended for now; please try later.",
    ),
    "pay.gw.pay_type": (
        "该支付方式暂不可用，请换一种。",
        "This pay type is not accepted right now; please choose another.",
    ),
    "pay.gw.already_paid": ("这笔订单已经支付过了。", "This order has already been paid."),
    "pay.gw.expired": (
        "订单已过期，请重新下单。",
        "The order has expired; please start a new one.",
    ),
    "pay.gw.order_exists": (
        "订单号冲突，请重新下单。",
        "This order number is taken; please start a new order.",
    ),
    "pay.gw.merchant_balance": (
        "收款账户余额不足，暂时无法收款，请稍后再试。",
        "The merchant account cannot take payments right now; please try later.",
    ),
    "pay.gw.channel_error": (
        "支付渠道拒绝了这笔订单（常见于风控），请稍后再试或换一种支付方式。",
        "The payment channel declined (often a risk check); try later or use another pay type.",
    ),
    "pay.gw.unreachable": (
        "支付渠道没有响应，订单已保留，可以点击重试。",
        "The payment provider did not answer; the order is kept and you can retry.",
    ),
    "pay.gw.unknown_refusal": (
        "支付渠道拒绝了订单，请稍后再试。",
        "The payment provider refused the order; please try later.",
    ),
    "pay.gw.refund_refused": ("退款被支付渠道拒绝。", "The payment provider refused the refund."),
}


def normalize_lang(lang: str | None) -> Lang:
    """Any language tag to one the catalogue speaks (Chinese unless it is English)."""
    return "en" if (lang or "").lower().startswith("en") else "zh"


def text(key: str, lang: str | None = DEFAULT_LANG, **params: object) -> str:
    """The message for `key` in `lang`, with `{placeholders}` filled in."""
    zh, en = CATALOG.get(key, CATALOG["error.error"])
    template = en if normalize_lang(lang) == "en" else zh
    try:
        return template.format(**params) if params else template
    except (KeyError, IndexError):
        return template
